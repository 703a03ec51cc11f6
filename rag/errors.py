"""The errors a user can cause, and only those.

Library code raises these with a message written for the person at the keyboard (what went wrong,
which file or setting, what to do). The edges (CLI, worker, UI) show ``str(error)`` as one line;
anything else that escapes is a bug and keeps its traceback.
"""

from __future__ import annotations


class BllossomRagError(Exception):
    """Base class: the message is shown to the user as is."""


class ConfigError(BllossomRagError):
    """A setting is missing or invalid."""


class ModelLoadError(BllossomRagError):
    """A configured model could not be loaded (missing folder, no hub access, bad files)."""


class CollectionNotFoundError(BllossomRagError):
    """The named collection does not exist in the store."""


class StoreError(BllossomRagError):
    """The store's database cannot be used as it is (corrupt, empty, or from a newer release)."""


class DocumentNotFoundError(BllossomRagError):
    """No document matches the given id or path."""


class EmbeddingServerError(BllossomRagError):
    """The embedding server (``embedding_url``) failed, refused or gave a malformed answer."""


class EmbeddingMismatchError(BllossomRagError):
    """A collection was built with an embedder of another dimension or name."""


class IngestError(BllossomRagError):
    """One file could not be ingested; the batch goes on without it."""


class PromptTooLongError(BllossomRagError):
    """The prompt cannot fit the token budget even without retrieved images and passages."""


class GenerationError(BllossomRagError):
    """Generation failed for one request (e.g. the GPU ran out of memory); others go on."""


class GPUOutOfMemoryError(GenerationError):
    """The GPU ran out of memory for one request; the model stays loaded and usable."""

"""The errors a user can cause, and only those.

Library code raises these with a message written for the person at the keyboard (what went wrong,
which file or setting, what to do). The edges (CLI, worker, UI) show ``str(error)`` as one line;
anything else that escapes is a bug and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Mapping

# What a message template may be filled with (and what crosses the loader child's JSON).
Value = str | int | float


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
    """One file could not be ingested; the batch goes on without it.

    Raised through :meth:`because`, it also keeps its message's English template and values:
    the template is the message's id (gettext's idea), so an interface in another language
    looks up its translation and fills in the same values, and ``str(error)`` stays the
    English sentence the command line prints.

    Attributes:
        template: The ``str.format`` template of the message, when it was made from one.
        values: The values that fill it.

    """

    def __init__(
        self,
        message: str,
        *,
        template: str | None = None,
        values: Mapping[str, Value] | None = None,
    ) -> None:
        super().__init__(message)
        self.template = template
        self.values = dict(values or {})

    @classmethod
    def because(cls, template: str, **values: Value) -> IngestError:
        """The error whose message is ``template`` filled with ``values``."""
        return cls(template.format(**values), template=template, values=values)

    def to_json(self) -> dict[str, object]:
        """What a loader child sends back for a file it rejects (``{"error": ...}``)."""
        if self.template is None:
            return {"error": str(self)}
        return {"error": str(self), "template": self.template, "values": self.values}

    @classmethod
    def from_json(cls, result: Mapping[str, object]) -> IngestError:
        """The error a child sent; an ill-formed template or value is dropped, not trusted."""
        message, template = result["error"], result.get("template")
        if not isinstance(message, str):
            raise TypeError(message)
        values = checked_values(result.get("values"))
        if not isinstance(template, str) or values is None:
            return cls(message)
        return cls(message, template=template, values=values)


def checked_values(values: object) -> dict[str, Value] | None:
    """Template values that came through JSON, if every one is a name and a plain value."""
    if not isinstance(values, dict):
        return None
    if not all(isinstance(k, str) and isinstance(v, str | int | float) for k, v in values.items()):
        return None
    return dict(values)


class PromptTooLongError(BllossomRagError):
    """The prompt cannot fit the token budget even without retrieved images and passages."""


class GenerationError(BllossomRagError):
    """Generation failed for one request (e.g. the GPU ran out of memory); others go on."""


class GPUOutOfMemoryError(GenerationError):
    """The GPU ran out of memory for one request; the model stays loaded and usable."""

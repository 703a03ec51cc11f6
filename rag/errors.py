"""The errors a user can cause, and only those.

Library code raises these with a message written for the person at the keyboard (what went wrong,
which file or setting, what to do). The edges (CLI, worker, UI) show ``str(error)`` as one line;
anything else that escapes is a bug and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeGuard

# What a message's template may be filled with (and what crosses the loader child's JSON).
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


class DiskFullError(StoreError):
    """The disk holding the store has no space left for a write (reads still work)."""


class DocumentNotFoundError(BllossomRagError):
    """No document matches the given id or path."""


class EmbeddingServerError(BllossomRagError):
    """The embedding server (``embedding.url``) failed, refused or gave a malformed answer."""


class EmbeddingMismatchError(BllossomRagError):
    """A collection was built with an embedder of another dimension or name."""


class Message(str):
    """An English sentence that remembers the template and values it was filled from.

    A message is a ``str``: printed, compared, de-duplicated and joined as the sentence it is.
    Its template is also its id (gettext's idea), so an interface in another language looks up
    its own line for the template and fills in the same values (``ui/web/reasons.py``). A
    message made from plain text has no template and is shown as it is. Loaders word their
    refusals (:class:`IngestError`) and their notes on what they skipped this way, and the
    loader child sends both through its JSON (:meth:`to_json`).

    Attributes:
        template: The ``str.format`` template, or None for plain text.
        values: What fills it.

    """

    template: str | None
    values: dict[str, Value]

    def __new__(
        cls, text: str, template: str | None = None, values: Mapping[str, Value] | None = None
    ) -> Message:
        """The message reading ``text``, filled from ``template`` and ``values`` if given."""
        message = super().__new__(cls, text)
        message.template = template
        message.values = dict(values or {})
        return message

    @classmethod
    def because(cls, template: str, **values: Value) -> Message:
        """The message ``template`` filled with ``values``."""
        return cls(template.format(**values), template, values)

    def to_json(self) -> str | dict[str, object]:
        """As the loader child sends it: the text, or the text with its template."""
        if self.template is None:
            return str(self)
        return {"text": str(self), "template": self.template, "values": self.values}

    @classmethod
    def from_json(cls, item: object) -> Message:
        """A message the child sent; an ill-formed template or value is dropped, not trusted.

        Raises:
            TypeError: ``item`` is neither a string nor a message's object.

        """
        if isinstance(item, str):
            return cls(item)
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            raise TypeError(item)
        template, values = item.get("template"), item.get("values")
        if not isinstance(template, str) or not _plain_values(values):
            return cls(item["text"])
        return cls(item["text"], template, values)


def _plain_values(values: object) -> TypeGuard[dict[str, Value]]:
    """Whether JSON ``values`` are names with plain values (what a template may be filled with)."""
    return isinstance(values, dict) and all(
        isinstance(k, str) and isinstance(v, str | int | float) for k, v in values.items()
    )


class IngestError(BllossomRagError):
    """One file could not be ingested; the batch goes on without it.

    Raised through :meth:`because`, its :attr:`message` keeps the English template and values
    (:class:`Message`), so the UI can word it in Korean while ``str(error)`` stays the English
    sentence the command line prints.

    Attributes:
        message: Why, as a :class:`Message` (its template None when raised from plain text).

    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message if isinstance(message, Message) else Message(message)

    @classmethod
    def because(cls, template: str, **values: Value) -> IngestError:
        """The error whose message is ``template`` filled with ``values``."""
        return cls(Message.because(template, **values))

    def to_json(self) -> dict[str, object]:
        """What a loader child sends back for a file it rejects."""
        return {"error": self.message.to_json()}

    @classmethod
    def from_json(cls, result: Mapping[str, object]) -> IngestError:
        """The error a child sent (:meth:`Message.from_json`).

        Raises:
            TypeError: Its ``error`` is not a message.

        """
        return cls(Message.from_json(result["error"]))


class TurnTooLargeError(BllossomRagError):
    """A question or its conversation is over a ``[conversation]`` limit.

    Attributes:
        index: The message at fault, counting the conversation from 0 with the question last;
            None when there are too many messages.

    """

    def __init__(self, message: str, index: int | None) -> None:
        super().__init__(message)
        self.index = index


class PromptTooLongError(BllossomRagError):
    """The prompt cannot fit the token budget even without retrieved images and passages."""


class GenerationError(BllossomRagError):
    """Generation failed for one request (e.g. the GPU ran out of memory); others go on."""


class GPUOutOfMemoryError(GenerationError):
    """The GPU ran out of memory for one request; the model stays loaded and usable."""

"""Notes on what a loader left out of a file: English text that remembers its template.

A note is a ``str``, so it is printed, compared, de-duplicated and joined as the English
sentence it is (``skipped hidden sheet '내부'``). Like a refusal
(:meth:`rag.errors.IngestError.because`) it was filled from a template, and it keeps the template
and values as its message id: the loader child sends them in its JSON, and the Korean UI words
the note with its own line (``ui/web/reasons.py``). A note made from plain text has none, and is
shown as it is.
"""

from __future__ import annotations

from rag.errors import Value, checked_values


class Note(str):
    """A note's English text, with the template and values it was filled from.

    Attributes:
        template: The ``str.format`` template, or None for plain text.
        values: What fills it.

    """

    template: str | None
    values: dict[str, Value]

    def __new__(
        cls, text: str, template: str | None = None, values: dict[str, Value] | None = None
    ) -> Note:
        """The note reading ``text``, filled from ``template`` and ``values`` if given."""
        note = super().__new__(cls, text)
        note.template = template
        note.values = dict(values or {})
        return note

    @classmethod
    def because(cls, template: str, **values: Value) -> Note:
        """The note ``template`` filled with ``values``."""
        return cls(template.format(**values), template, values)

    def to_json(self) -> str | dict[str, object]:
        """As the loader child sends it: the text, or the text with its template."""
        if self.template is None:
            return str(self)
        return {"text": str(self), "template": self.template, "values": self.values}

    @classmethod
    def from_json(cls, item: object) -> Note:
        """A note the child sent; an ill-formed template or value is dropped, not trusted.

        Raises:
            TypeError: ``item`` is neither a string nor a note's object.

        """
        if isinstance(item, str):
            return cls(item)
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            raise TypeError(item)
        template, values = item.get("template"), checked_values(item.get("values"))
        if not isinstance(template, str) or values is None:
            return cls(item["text"])
        return cls(item["text"], template, values)


# The one note several readers give (PDF, HWP, HWPX, DOCX, PPTX, HTML and the pipeline).
TOO_MANY_IMAGES = "skipped images after the first {count} (max_images_per_file)"

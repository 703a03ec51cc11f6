"""XML of untrusted packages: parsed without entities or network, counted as it streams.

libxml2 reports a failed allocation as a syntax error ("unknown error"); under the worker's
memory limit that is the file's size talking, not broken XML, so it becomes the
:class:`MemoryError` the worker reports as such (:mod:`ingest.isolation.child`).
"""

from __future__ import annotations

from typing import IO, Any

from ingest.extractors.units import Units
from rag.errors import IngestError

_CHUNK_BYTES = 1 << 20


def safe_parser() -> Any:
    """An lxml parser that resolves no entities, loads no DTD and fetches nothing."""
    import lxml.etree as etree

    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def out_of_memory(error: BaseException) -> bool:
    """Whether ``error`` is an allocation that failed (``MemoryError`` or libxml2's own)."""
    import lxml.etree as etree

    if isinstance(error, MemoryError):
        return True
    log = getattr(error, "error_log", None) if isinstance(error, etree.LxmlError) else None
    return any(entry.type == etree.ErrorTypes.ERR_NO_MEMORY for entry in log or ())


def broken_part(label: str, name: str, error: Exception) -> IngestError:
    """``broken DOCX part word/document.xml (...)``, or MemoryError when memory ran out.

    Raises:
        MemoryError: The parser ran out of memory.

    """
    if out_of_memory(error):
        raise MemoryError from None
    template = "broken {label} part {name} ({error})"
    return IngestError.because(template, label=label, name=name, error=str(error))


def parse(data: bytes, name: str, label: str) -> Any:
    """The root element of one XML part.

    Raises:
        IngestError: The part is not well-formed XML.
        MemoryError: Parsing it ran out of memory.

    """
    import lxml.etree as etree

    try:
        return etree.fromstring(data, parser=safe_parser())
    except etree.XMLSyntaxError as error:
        raise broken_part(label, name, error) from None


class Counter:
    """A parser target that counts elements as ``units`` of a kind and builds nothing."""

    def __init__(self, units: Units, kind: str = "XML elements") -> None:
        self.add = units.add
        self.kind = kind

    def start(self, tag: str, attributes: object) -> None:
        """One more element."""
        self.add(1, self.kind)

    def close(self) -> None:
        """The end of the part: nothing to return."""


def count_elements(stream: IO[bytes], name: str, label: str, units: Units) -> None:
    """Count every element of an XML part as it streams by, keeping none of them.

    Raises:
        IngestError: The file passed its units limit, or the part is not well-formed.
        MemoryError: Parsing it ran out of memory.

    """
    import lxml.etree as etree

    parser = etree.XMLParser(
        target=Counter(units), resolve_entities=False, no_network=True, load_dtd=False
    )
    try:
        while chunk := stream.read(_CHUNK_BYTES):
            parser.feed(chunk)
        parser.close()
    except etree.XMLSyntaxError as error:
        raise broken_part(label, name, error) from None

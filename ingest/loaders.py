"""Turn a file's bytes into text segments (a page of a PDF, a whole text file).

Loaders are keyed by file suffix; each returns :class:`Segment` objects and raises
:class:`IngestError` with a one-line reason when the content is not what the suffix claims.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rag.errors import IngestError


@dataclass(frozen=True)
class Segment:
    """A run of text from one place in a document."""

    text: str
    page: int | None = None


Loader = Callable[[Path, bytes], list[Segment]]


def load_text(path: Path, data: bytes) -> list[Segment]:
    """UTF-8 text or Markdown (a leading byte-order mark is dropped)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        msg = f"not UTF-8 text (invalid byte at offset {error.start})"
        raise IngestError(msg) from None
    if "\x00" in text:
        msg = "contains NUL bytes: binary data, not text"
        raise IngestError(msg)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        msg = "no text in file"
        raise IngestError(msg)
    return [Segment(text)]


LOADERS: dict[str, Loader] = {".txt": load_text, ".md": load_text, ".markdown": load_text}
SUPPORTED_SUFFIXES = frozenset(LOADERS)


def load(path: Path, data: bytes) -> list[Segment]:
    """Load ``data`` read from ``path`` with the loader for its suffix."""
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        msg = f"unsupported file type {path.suffix or '(none)'}"
        raise IngestError(msg)
    return loader(path, data)

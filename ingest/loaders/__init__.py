"""Loaders: a file's bytes -> text segments and figures, by the kind its content shows.

Each loader takes ``(path, data, limits)`` and returns :class:`Loaded`, raising
:class:`~rag.errors.IngestError` with a one-line reason when the file cannot be read. The kind
comes from :func:`ingest.formats.check_content`, so a loader only ever sees bytes that carry
its format's signature. The path is for naming (a standalone image is captioned by its file
name); no loader opens any other file, nor anything a file's content points at. PDF, HWP, HWPX
and OCR run in an isolated child process (:mod:`ingest.loaders.isolated`).
"""

from __future__ import annotations

from pathlib import Path

from ingest.file_limits import Limits
from ingest.formats import Kind, check_content
from ingest.loaders.base import Figure, Loaded, Loader, Segment
from ingest.loaders.docx import load_docx
from ingest.loaders.html import load_html
from ingest.loaders.hwp import load_hwp, load_hwpx
from ingest.loaders.image_file import load_image
from ingest.loaders.pdf import load_pdf
from ingest.loaders.pptx import load_pptx
from ingest.loaders.text import decode_text, load_markdown, load_text
from ingest.loaders.xlsx import load_xlsx

LOADERS: dict[Kind, Loader] = {
    "text": load_text,
    "markdown": load_markdown,
    "html": load_html,
    "pdf": load_pdf,
    "docx": load_docx,
    "xlsx": load_xlsx,
    "pptx": load_pptx,
    "hwp": load_hwp,
    "hwpx": load_hwpx,
    "image": load_image,
}


def load(path: Path, data: bytes, limits: Limits) -> Loaded:
    """Check that ``data`` is what ``path``'s suffix says, then load it."""
    kind = check_content(path.suffix, data)
    return LOADERS[kind](path, data, limits)


__all__ = ["LOADERS", "Figure", "Loaded", "Segment", "decode_text", "load"]

"""Loaders: a file's bytes -> text segments and figures, by the kind its content shows.

Each loader takes ``(path, data, limits)`` and returns :class:`Loaded`, raising
:class:`~rag.errors.IngestError` with a one-line reason when the file cannot be read. The kind
comes from :func:`ingest.formats.check_content`, so a loader only ever sees bytes that carry
its format's signature. The path is for naming (a standalone image is captioned by its file
name); no loader opens any other file, nor anything a file's content points at. Every format is
parsed in an isolated worker process under a time and a memory limit
(:mod:`ingest.loaders.isolated`, readers in :mod:`ingest.extractors`); only the pixels of images
are decoded here, under the pixel limits, and OCR runs in workers too.
"""

from __future__ import annotations

from pathlib import Path

from ingest.file_limits import Limits
from ingest.formats import Kind, check_content
from ingest.loaders.base import Figure, Loaded, Loader, Segment
from ingest.loaders.image_file import load_image
from ingest.loaders.isolated import isolated
from ingest.loaders.pdf import load_pdf

LOADERS: dict[Kind, Loader] = {
    "text": isolated("text", "text parser"),
    "markdown": isolated("markdown", "Markdown parser"),
    "html": isolated("html", "HTML parser"),
    "pdf": load_pdf,
    "docx": isolated("docx", "DOCX parser"),
    "xlsx": isolated("xlsx", "XLSX parser"),
    "pptx": isolated("pptx", "PPTX parser"),
    "hwp": isolated("hwp", "HWP parser"),
    "hwpx": isolated("hwpx", "HWPX parser"),
    "image": load_image,
}


def load(path: Path, data: bytes, limits: Limits) -> Loaded:
    """Check that ``data`` is what ``path``'s suffix says, then load it."""
    kind = check_content(path.suffix, data)
    return LOADERS[kind](path, data, limits)


__all__ = ["LOADERS", "Figure", "Loaded", "Segment", "load"]

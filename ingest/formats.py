"""What a file really is, judged by its first bytes rather than by its name.

The suffix says which loader a user expects; the content must agree before any parser sees it.
Binary formats carry a signature (``%PDF-``, the PNG magic, a ZIP holding ``word/document.xml``);
text formats carry none, so a "text" file is anything without a known binary signature, and the
text decoder decides the rest. A mismatch (a PNG named ``.pdf``, random bytes named ``.docx``) is
refused with a message naming both what the name claims and what the bytes are, so the user can
rename the file instead of guessing why a parser choked.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from typing import Literal

from rag.errors import IngestError

Kind = Literal["text", "markdown", "html", "pdf", "docx", "image"]

SUFFIX_KINDS: dict[str, Kind] = {
    ".txt": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
    ".docx": "docx",
    ".png": "image",
    ".jpg": "image",
    ".jpeg": "image",
    ".webp": "image",
    ".gif": "image",
    ".bmp": "image",
    ".tif": "image",
    ".tiff": "image",
}
SUPPORTED_SUFFIXES = frozenset(SUFFIX_KINDS)
IMAGE_SUFFIXES = frozenset(s for s, kind in SUFFIX_KINDS.items() if kind == "image")

_LABELS: dict[str, str] = {
    "pdf": "a PDF document",
    "docx": "a Word (DOCX) document",
    "image": "an image",
    "text": "text",
    "markdown": "text",
    "html": "text",
}
# The PDF specification lets a header start anywhere in the first 1024 bytes.
_PDF_HEADER_WINDOW = 1024


@dataclass(frozen=True)
class Signature:
    """The format a file's bytes show: a loader kind (None when unsupported) and a label."""

    kind: Kind | None
    label: str


def sniff(data: bytes) -> Signature | None:
    """The binary format ``data`` starts with, or None when it has no known signature."""
    head = data[:16]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Signature("image", "a PNG image")
    if head.startswith(b"\xff\xd8\xff"):
        return Signature("image", "a JPEG image")
    if head.startswith((b"GIF87a", b"GIF89a")):
        return Signature("image", "a GIF image")
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return Signature("image", "a WebP image")
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return Signature("image", "a TIFF image")
    # 'BM' alone starts plenty of text; a real BMP has four reserved zero bytes after the size.
    if head.startswith(b"BM") and head[6:10] == b"\x00\x00\x00\x00":
        return Signature("image", "a BMP image")
    if b"%PDF-" in data[:_PDF_HEADER_WINDOW]:
        return Signature("pdf", "a PDF document")
    if head.startswith(b"PK\x03\x04"):
        return _zip_signature(data)
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return Signature(None, "a legacy Office file (.doc/.xls/.ppt; save it as .docx or PDF)")
    if head.startswith((b"\x1f\x8b", b"7z\xbc\xaf\x27\x1c", b"\x7fELF", b"MZ")):
        return Signature(None, "an archive or program")
    return None


def _zip_signature(data: bytes) -> Signature:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return Signature(None, "a broken ZIP archive")
    if "word/document.xml" in names:
        return Signature("docx", "a Word (DOCX) document")
    if "xl/workbook.xml" in names or "ppt/presentation.xml" in names:
        return Signature(None, "an Excel or PowerPoint file (not supported yet)")
    return Signature(None, "a ZIP archive")


def check_content(suffix: str, data: bytes) -> Kind:
    """The loader kind for a file, after checking its bytes match its suffix.

    Raises:
        IngestError: The suffix is unsupported or the content is something else.

    """
    expected = SUFFIX_KINDS.get(suffix.lower())
    if expected is None:
        msg = f"unsupported file type {suffix or '(none)'}"
        raise IngestError(msg)
    found = sniff(data)
    if expected in ("text", "markdown", "html"):
        if found is not None:
            msg = f"content is {found.label}, not text (named {suffix})"
            raise IngestError(msg)
        return expected
    if found is None:
        msg = _NO_SIGNATURE[expected]
        raise IngestError(msg)
    if found.kind != expected:
        msg = f"content is {found.label}, not {_LABELS[expected]} (named {suffix})"
        raise IngestError(msg)
    return expected


_NO_SIGNATURE: dict[str, str] = {
    "pdf": f"not a PDF: no %PDF- header in the first {_PDF_HEADER_WINDOW} bytes",
    "docx": "not a DOCX: not a ZIP package with word/document.xml",
    "image": "not a supported image (PNG, JPEG, WebP, GIF, BMP, TIFF): unknown signature",
}

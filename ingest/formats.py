"""What a file really is, judged by its first bytes rather than by its name.

The suffix says which loader a user expects; the content must agree before any parser sees it.
Binary formats carry a signature (``%PDF-``, the PNG magic, a ZIP holding ``word/document.xml``,
an OLE compound file for HWP 5); text formats carry none, so a "text" file is anything without a
known binary signature, and the text decoder decides the rest. A mismatch (a PNG named ``.pdf``,
random bytes named ``.docx``) is refused with a message naming both what the name claims and what
the bytes are, so the user can rename the file instead of guessing why a parser choked.

Signatures are the real ones, not prefixes a word can have: ordinary Korean or English text
must never look binary. ``MZ`` starts "MZ세대" as well as a Windows program, so a program needs
the PE header its ``MZ`` stub points to; a PDF must start with ``%PDF-`` (a note that *mentions*
``%PDF-1.7`` is text); a BMP needs its four reserved zero bytes.
"""

from __future__ import annotations

import io
import struct
import zipfile
from dataclasses import dataclass
from typing import Literal

from rag.errors import IngestError

Kind = Literal["text", "markdown", "html", "pdf", "docx", "xlsx", "pptx", "hwp", "hwpx", "image"]

SUFFIX_KINDS: dict[str, Kind] = {
    ".txt": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
    ".docx": "docx",
    ".xlsx": "xlsx",
    ".pptx": "pptx",
    ".hwp": "hwp",
    ".hwpx": "hwpx",
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
# Binary Office formats from before 2007: no loader reads them; the modern format does.
LEGACY_SUFFIXES: dict[str, str] = {".doc": ".docx", ".xls": ".xlsx", ".ppt": ".pptx"}

_LABELS: dict[Kind, str] = {
    "pdf": "a PDF document",
    "docx": "a Word (DOCX) document",
    "xlsx": "an Excel (XLSX) workbook",
    "pptx": "a PowerPoint (PPTX) presentation",
    "hwp": "an HWP 5 document",
    "hwpx": "an HWPX document",
    "image": "an image",
    "text": "text",
    "markdown": "text",
    "html": "text",
}
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# ZIP packages by the part that names their format (OOXML) or by their mimetype entry (OWPML).
_ZIP_PARTS: tuple[tuple[str, Kind], ...] = (
    ("word/document.xml", "docx"),
    ("xl/workbook.xml", "xlsx"),
    ("ppt/presentation.xml", "pptx"),
)
_HWPX_MIMETYPE = b"application/hwp+zip"
_PE_OFFSET_FIELD = 0x3C


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
    if head.startswith(b"%PDF-"):
        return Signature("pdf", "a PDF document")
    if head.startswith(b"PK\x03\x04"):
        return _zip_signature(data)
    if head.startswith(_OLE_MAGIC):
        # HWP 5 and the legacy Office formats share the container; the HWP reader tells them apart.
        return Signature("hwp", "an HWP 5 or legacy Office file (.hwp, .doc, .xls, .ppt)")
    if data.startswith(b"HWP Document File V3"):
        return Signature(None, "an HWP 3 (Hangul 97) document: save it as .hwpx in Hancom Office")
    if head.startswith((b"\x1f\x8b", b"7z\xbc\xaf\x27\x1c", b"\x7fELF")) or _is_windows_program(
        data
    ):
        return Signature(None, "an archive or program")
    return None


def _is_windows_program(data: bytes) -> bool:
    """An ``MZ`` stub whose header field (at 0x3C) points at a PE signature."""
    if not data.startswith(b"MZ") or len(data) < _PE_OFFSET_FIELD + 4:
        return False
    (offset,) = struct.unpack_from("<I", data, _PE_OFFSET_FIELD)
    return data[offset : offset + 4] == b"PE\x00\x00"


def _zip_signature(data: bytes) -> Signature:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "mimetype" in names and archive.read("mimetype").strip() == _HWPX_MIMETYPE:
                return Signature("hwpx", _LABELS["hwpx"])
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return Signature(None, "a broken ZIP archive")
    for part, kind in _ZIP_PARTS:
        if part in names:
            return Signature(kind, _LABELS[kind])
    return Signature(None, "a ZIP archive")


def unsupported(suffix: str) -> IngestError:
    """Why a suffix is not read, and for a legacy Office suffix which format to save as."""
    modern = LEGACY_SUFFIXES.get(suffix.lower())
    if modern is not None:
        return IngestError.because(
            "legacy Office file {suffix}: save it as {modern} "
            "(File > Save As in Office or LibreOffice) and ingest that",
            suffix=suffix,
            modern=modern,
        )
    return IngestError.because("unsupported file type {suffix}", suffix=suffix or "(none)")


def check_content(suffix: str, data: bytes) -> Kind:
    """The loader kind for a file, after checking its bytes match its suffix.

    Raises:
        IngestError: The suffix is unsupported or the content is something else.

    """
    expected = SUFFIX_KINDS.get(suffix.lower())
    if expected is None:
        raise unsupported(suffix)
    found = sniff(data)
    if expected in ("text", "markdown", "html"):
        if found is not None:
            template = "content is {found}, not text (named {suffix})"
            raise IngestError.because(template, found=found.label, suffix=suffix)
        return expected
    if found is None:
        raise IngestError.because(_NO_SIGNATURE[expected])
    if found.kind != expected:
        template = "content is {found}, not {expected} (named {suffix})"
        raise IngestError.because(
            template, found=found.label, expected=_LABELS[expected], suffix=suffix
        )
    return expected


_ZIP_PACKAGE = "not a ZIP package with"
_NO_SIGNATURE: dict[Kind, str] = {
    "pdf": "not a PDF: no %PDF- header at the start of the file",
    "docx": f"not a DOCX: {_ZIP_PACKAGE} word/document.xml",
    "xlsx": f"not an XLSX: {_ZIP_PACKAGE} xl/workbook.xml",
    "pptx": f"not a PPTX: {_ZIP_PACKAGE} ppt/presentation.xml",
    "hwp": "not an HWP 5 document: no OLE compound-file signature",
    "hwpx": f"not an HWPX: {_ZIP_PACKAGE} mimetype application/hwp+zip",
    "image": "not a supported image (PNG, JPEG, WebP, GIF, BMP, TIFF): unknown signature",
}

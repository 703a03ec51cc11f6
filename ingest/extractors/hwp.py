"""Worker task ``hwp``: an HWP 5 document's paragraphs, tables and pictures, read over olefile.

HWP 5 is an OLE compound file. ``FileHeader`` holds flags (sections compressed, password,
distribution or DRM protection); ``DocInfo`` lists the embedded binaries; ``BodyText/SectionN``
are streams of records (a 32-bit header: tag, nesting level, size), raw-deflate compressed when
the flag says so. Paragraph text (tag 67) is UTF-16LE in which code units below 32 are controls:
a table, a picture, a field, a tab each take eight units whose payload is binary and reads as CJK
garbage if decoded, so controls are cut out and only their meaning kept (tab, line break). A
table (control ``tbl ``) is rows of cells; a picture (control ``gso `` with a picture record)
points at ``BinData/BINxxxx.ext`` and is captioned by its own caption list, or by the paragraph
next to it (:mod:`ingest.extractors.nearby`).

Why a reader of our own over olefile (BSD, the standard OLE library, maintained since 2005), rather
than a package: pyhwp is AGPL; python-hwpx (Apache-2.0) reads HWP 5 by converting it into a whole
HWPX document model, 11,000 lines built for round-trip editing; hwp-hwpx-parser (Apache-2.0)
inflates streams without a size bound. Text, tables and pictures need ~250 lines whose every branch
the tests reach, with every stream inflated under :data:`MAX_STREAM_BYTES`. python-hwpx writes the
test fixtures, so the reader is checked against another implementation. It runs in the isolated
worker (:mod:`ingest.isolation.child`) under the same timeout and memory limit as PDF parsing,
its records counted against ``ingest.max_units_per_file``.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any

from ingest.extractors.answer import answer
from ingest.extractors.nearby import Item, Paragraph, Picture, PictureGate, Table, assemble
from ingest.extractors.units import Units
from rag.errors import IngestError

# Streams inflate to at most this much each; a section is text, so 256 MB is a bomb.
MAX_STREAM_BYTES = 256 * 1024 * 1024
RECORDS = "records"
_SIGNATURE = b"HWP Document File"
_COMPRESSED, _PASSWORD, _DISTRIBUTION, _DRM = 0x1, 0x2, 0x4, 0x10
_CERT_ENCRYPTED, _CERT_DRM = 0x100, 0x400
# Record tags (HWPTAG_BEGIN = 16).
_BIN_DATA, _PARA_SHAPE = 18, 25
_PARA_SHAPE_ID = 8  # offset of the paragraph shape id in a paragraph header
_PARA_HEADER, _PARA_TEXT, _CTRL_HEADER, _LIST_HEADER, _TABLE, _PICTURE = 66, 67, 71, 72, 77, 85
_PICTURE_BIN_ID = 71  # offset of the BinData id in a picture record
_CELL_ADDRESS = 8  # offset of (column, row) in a cell's list header
# Code units below 32 that start an eight-unit control (the rest are one unit each).
_LONG_CONTROLS = frozenset(
    {1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23}
)
_SHORT_CONTROLS = {9: "\t", 10: "\n", 24: "-", 30: " ", 31: " "}
_SKIPPED_CONTROLS = frozenset({"head", "foot"})  # page headers and footers repeat on every page
_SECTION = re.compile(r"^Section(\d+)$")


@dataclass
class _Node:
    tag: int
    payload: bytes
    children: list[_Node] = field(default_factory=list)


def extract(data: bytes, options: dict[str, Any]) -> dict[str, Any]:
    """Text, tables and pictures of the HWP 5 document in ``data``."""
    import olefile

    try:
        ole = olefile.OleFileIO(data)
    except (OSError, ValueError, struct.error) as error:
        template = "not a readable HWP 5 document (broken compound file: {error})"
        return IngestError.because(template, error=str(error)).to_json()
    try:
        with ole:
            reader = _Reader(ole, int(options["max_images"]), Units(options, "HWP"))
            blocks = assemble(reader.items())
            if not blocks:
                raise IngestError.because("no text or pictures in the document")
            return answer(blocks, reader.pictures.notes)
    except IngestError as error:
        return error.to_json()
    except (OSError, ValueError, struct.error, zlib.error) as error:  # sectors past the end...
        detail = f"{type(error).__name__}: {error}"
        return IngestError.because(
            "not a readable HWP 5 document ({error})", error=detail
        ).to_json()


class _Reader:
    def __init__(self, ole: Any, max_images: int, units: Units) -> None:
        self.ole = ole
        self.units = units
        self.pictures = PictureGate(max_images)
        flags = self._header()
        self.compressed = bool(flags & _COMPRESSED)
        info = (
            _records(self._stream("DocInfo", self.compressed), units)
            if ole.exists("DocInfo")
            else []
        )
        self.bins = self._bin_names(info)
        self.outline = _outline_levels(info)

    def _header(self) -> int:
        if not self.ole.exists("FileHeader"):
            office = ("WordDocument", "Workbook", "PowerPoint Document")
            if any(self.ole.exists(name) for name in office):
                template = (
                    "a legacy Office file (.doc/.xls/.ppt), not HWP: save it as .docx/.xlsx/.pptx"
                )
                raise IngestError.because(template)
            raise IngestError.because("not an HWP 5 document (no FileHeader stream)")
        header = self.ole.openstream("FileHeader").read(256)
        if not header.startswith(_SIGNATURE) or len(header) < 40:
            raise IngestError.because("not an HWP 5 document (bad FileHeader signature)")
        (flags,) = struct.unpack_from("<I", header, 36)
        if flags & (_PASSWORD | _CERT_ENCRYPTED):
            template = (
                "HWP document is password-protected: save an unprotected copy in Hancom Office"
            )
            raise IngestError.because(template)
        if flags & (_DRM | _CERT_DRM):
            template = "HWP document is DRM-protected: its text is encrypted and cannot be read"
            raise IngestError.because(template)
        if flags & _DISTRIBUTION:
            template = (
                "HWP distribution document (배포용 문서): its text is encrypted; "
                "save a normal copy in Hancom Office"
            )
            raise IngestError.because(template)
        return int(flags)

    def _stream(self, name: str, compressed: bool) -> bytes:
        raw = self.ole.openstream(name).read()
        if not compressed:
            return bytes(raw)
        inflater = zlib.decompressobj(-15)
        try:
            out = inflater.decompress(raw, MAX_STREAM_BYTES)
        except zlib.error as error:
            template = "broken HWP stream {name} ({error})"
            raise IngestError.because(template, name=name, error=str(error)) from None
        if inflater.unconsumed_tail:
            template = "HWP stream {name} unpacks past {limit:,} bytes"
            raise IngestError.because(template, name=name, limit=MAX_STREAM_BYTES)
        return out

    def _bin_names(self, info: list[tuple[int, int, bytes]]) -> dict[int, tuple[str, bool]]:
        """BinData number (1-based, as pictures refer to it) -> (stream name, compressed)."""
        names: dict[int, tuple[str, bool]] = {}
        count = 0
        for tag, _, payload in info:
            if tag != _BIN_DATA or len(payload) < 6:
                continue
            count += 1
            (attributes, bin_id, length) = struct.unpack_from("<HHH", payload, 0)
            if attributes & 0xF != 1:  # 0 links a file outside (never opened), 2 an OLE object
                continue
            extension = payload[6 : 6 + 2 * length].decode("utf-16-le", "replace").lower()
            packing = (attributes >> 4) & 0x3
            compressed = self.compressed if packing == 0 else packing == 1
            names[count] = (f"BinData/BIN{bin_id:04X}.{extension}", compressed)
        return names

    def items(self) -> list[Item]:
        """Every section's paragraphs, tables and pictures, in order."""
        storage = "BodyText"
        sections = sorted(
            (int(match.group(1)), "/".join(entry))
            for entry in self.ole.listdir()
            if len(entry) == 2 and entry[0] == storage and (match := _SECTION.match(entry[1]))
        )
        if not sections:
            raise IngestError.because("not an HWP 5 document (no BodyText sections)")
        items: list[Item] = []
        for _, name in sections:
            for node in _tree(_records(self._stream(name, self.compressed), self.units)):
                if node.tag == _PARA_HEADER:
                    self._paragraph(node, items)
        return items

    def _paragraph(self, paragraph: _Node, items: list[Item]) -> None:
        shape = paragraph.payload[_PARA_SHAPE_ID : _PARA_SHAPE_ID + 2]
        level = self.outline.get(struct.unpack("<H", shape)[0]) if len(shape) == 2 else None
        items.append(Paragraph(_paragraph_text(paragraph), level=level))
        for control in paragraph.children:
            if control.tag != _CTRL_HEADER or len(control.payload) < 4:
                continue
            kind = control.payload[:4][::-1].decode("latin-1")
            if kind == "tbl ":
                items.extend(_table(control))
            elif kind == "gso ":
                self._drawing(control, items)
            elif kind not in _SKIPPED_CONTROLS:  # footnotes, endnotes, text in fields
                items.extend(Paragraph(text) for text in _texts(control) if text.strip())

    def _drawing(self, control: _Node, items: list[Item]) -> None:
        """A drawing object: pictures (captioned by its caption list) and any text boxes."""
        caption = " ".join(
            _paragraph_text(child) for child in control.children if child.tag == _PARA_HEADER
        )
        for node in _descendants(control):
            if node.tag == _PICTURE:
                picture = self._picture(node, caption)
                if picture is not None:
                    items.append(picture)
                    caption = ""  # one caption list, for the first picture of a group
        shapes = [child for child in control.children if child.tag != _PARA_HEADER]
        for shape in shapes:  # text boxes: paragraphs inside the shape, not its caption
            items.extend(Paragraph(text) for text in _texts(shape) if text.strip())

    def _picture(self, record: _Node, caption: str) -> Picture | None:
        if len(record.payload) < _PICTURE_BIN_ID + 2:
            return None
        (number,) = struct.unpack_from("<H", record.payload, _PICTURE_BIN_ID)
        found = self.bins.get(number)
        if found is None or not self.ole.exists(found[0]):
            return None
        name, compressed = found
        if not self.pictures.admit(name):
            return None
        return Picture(self._stream(name, compressed), caption=caption)


def _outline_levels(info: list[tuple[int, int, bytes]]) -> dict[int, int]:
    """Paragraph shape id -> heading level (개요 1 is 1), from DocInfo's shape records.

    A shape's first attribute word holds the heading kind in bits 23-24 (1: outline) and the
    outline level in bits 25-27; shapes are numbered in the order they are listed.
    """
    levels = {}
    shapes = (payload for tag, _, payload in info if tag == _PARA_SHAPE)
    for number, payload in enumerate(shapes):
        if len(payload) >= 4:
            (attributes,) = struct.unpack_from("<I", payload, 0)
            if (attributes >> 23) & 0x3 == 1:
                levels[number] = ((attributes >> 25) & 0x7) + 1
    return levels


def _records(data: bytes, units: Units) -> list[tuple[int, int, bytes]]:
    """(tag, level, payload) for each record; a truncated last record is dropped."""
    records = []
    position, end = 0, len(data)
    while position + 4 <= end:
        units.add(1, RECORDS)
        (header,) = struct.unpack_from("<I", data, position)
        position += 4
        tag, level, size = header & 0x3FF, (header >> 10) & 0x3FF, header >> 20
        if size == 0xFFF:
            if position + 4 > end:
                break
            (size,) = struct.unpack_from("<I", data, position)
            position += 4
        records.append((tag, level, data[position : position + size]))
        position += size
    return records


def _tree(records: list[tuple[int, int, bytes]]) -> list[_Node]:
    """Records nested by level (built with a stack: no recursion, however deep)."""
    root = _Node(-1, b"")
    stack: list[tuple[int, _Node]] = [(-1, root)]
    for tag, level, payload in records:
        node = _Node(tag, payload)
        while stack[-1][0] >= level:
            stack.pop()
        stack[-1][1].children.append(node)
        stack.append((level, node))
    return root.children


def _descendants(node: _Node) -> list[_Node]:
    found, stack = [], list(reversed(node.children))
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(reversed(current.children))
    return found


def _texts(node: _Node) -> list[str]:
    """The text of every paragraph below ``node``, in order."""
    return [_paragraph_text(n) for n in _descendants(node) if n.tag == _PARA_HEADER]


def _paragraph_text(paragraph: _Node) -> str:
    for child in paragraph.children:
        if child.tag == _PARA_TEXT:
            return decode_text(child.payload)
    return ""


def decode_text(payload: bytes) -> str:
    """Paragraph text without its control characters and their binary payloads."""
    import numpy as np

    units = np.frombuffer(payload[: len(payload) // 2 * 2], dtype="<u2")
    parts: list[str] = []
    start = 0
    for position in np.flatnonzero(units < 32).tolist():
        if position < start:
            continue  # inside the payload of the control before it
        unit = int(units[position])
        parts.append(units[start:position].tobytes().decode("utf-16-le", "replace"))
        parts.append(_SHORT_CONTROLS.get(unit, ""))
        start = position + (8 if unit in _LONG_CONTROLS else 1)
    parts.append(units[start:].tobytes().decode("utf-16-le", "replace"))
    return "".join(parts)


def _table(control: _Node) -> list[Item]:
    """A table's caption (as a paragraph before it) and its rows of cells."""
    caption: list[str] = []
    cells: dict[tuple[int, int], list[str]] = {}
    current: tuple[int, int] | None = None
    seen_table = False
    for child in control.children:
        if child.tag == _TABLE:
            seen_table = True
        elif child.tag == _LIST_HEADER and seen_table and len(child.payload) >= _CELL_ADDRESS + 4:
            column, row = struct.unpack_from("<HH", child.payload, _CELL_ADDRESS)
            current = (row, column)
            cells.setdefault(current, [])
        elif child.tag == _PARA_HEADER:
            text = " ".join(t for t in [_paragraph_text(child), *_nested(child)] if t.strip())
            (cells[current] if current is not None else caption).append(text)
    rows: dict[int, list[tuple[int, str]]] = {}
    for (row, column), texts in sorted(cells.items()):
        rows.setdefault(row, []).append((column, " ".join(" ".join(texts).split())))
    lines = [" | ".join(text for _, text in cols) for cols in rows.values()]
    table: list[Item] = [Paragraph(" ".join(caption))] if any(c.strip() for c in caption) else []
    table.append(Table(tuple(line for line in lines if line.strip(" |"))))
    return table


def _nested(paragraph: _Node) -> list[str]:
    """Text of controls inside a cell's paragraph (a table in a table), flattened."""
    return [
        text
        for control in paragraph.children
        if control.tag == _CTRL_HEADER
        for text in _texts(control)
    ]

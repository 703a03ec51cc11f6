"""Excel workbooks: every visible sheet as tables whose header row is repeated in every block.

openpyxl reads the package in read-only mode (rows streamed from the XML, not a workbook held in
memory) with ``data_only``: a formula cell gives the value Excel last computed and saved, never
the formula text, which no one asks about. The package's declared unpacked size is checked
first (:mod:`ingest.loaders.package`), and the sheet's declared dimensions are ignored, so a
sheet claiming ``A1:XFD1048576`` costs only the cells it really has.

A sheet's first non-empty row is its header. The rows after it are cut into blocks of at most
:data:`BLOCK_CHARS` characters, each a table segment whose first line is
``[sheet!first:last] header | cells``: the chunker repeats that line when it must split a block
further, so every chunk says which sheet and rows it holds and what its columns mean. Each
sheet's blocks follow a heading segment naming the sheet, so the sheet is their heading path. Hidden
and empty sheets are skipped with a note; a sheet that would make more blocks than
``ingest.max_chunks_per_file`` is refused while it is read, not after a million rows.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

from ingest.file_limits import Limits
from ingest.loaders.base import Heading, Loaded, Segment, squash
from ingest.loaders.package import check_unpacked_size, unreadable
from rag.errors import IngestError, Message

# Rows per block, in characters: with its header line a block stays under 256 tokens of the
# XLM-R tokenizer (bge-m3, multilingual-e5) on Korean tables (~0.6 tokens per character), so
# the chunker keeps it whole and its row range stays exact.
BLOCK_CHARS = 380


def load_xlsx(path: Path, data: bytes, limits: Limits) -> Loaded:
    """An XLSX workbook: table segments per visible sheet, in sheet order."""
    import openpyxl

    check_unpacked_size(data, "XLSX")
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises KeyError, ValueError, lxml errors... on junk
        raise unreadable("XLSX", error) from None
    loaded = Loaded()
    try:
        for sheet in workbook.worksheets:
            if sheet.sheet_state != "visible":
                loaded.notes.append(
                    Message.because("skipped hidden sheet {sheet!r}", sheet=sheet.title)
                )
                continue
            before = len(loaded.blocks)
            loaded.blocks.append(Segment(squash(sheet.title), headings=(Heading(0, 1),)))
            _read_sheet(sheet, loaded, limits)
            if len(loaded.blocks) == before + 1:
                loaded.blocks.pop()
                loaded.notes.append(
                    Message.because("skipped empty sheet {sheet!r}", sheet=sheet.title)
                )
    except IngestError:
        raise
    except Exception as error:  # a broken sheet part surfaces only while its rows are read
        raise unreadable("XLSX", error) from None
    finally:
        workbook.close()
    if not loaded.blocks:
        template = "no cells with values in the workbook (every sheet is empty or hidden)"
        raise IngestError.because(template)
    return loaded


def _read_sheet(sheet: Any, loaded: Loaded, limits: Limits) -> None:
    sheet.reset_dimensions()
    header: str | None = None
    header_row = 0
    rows: list[tuple[int, str]] = []
    size = 0

    def flush() -> None:
        nonlocal size
        if rows and header is not None:
            if len(loaded.blocks) >= limits.max_chunks_per_file:
                template = (
                    "sheet {sheet!r} makes more than {limit:,} chunks "
                    "(ingest.max_chunks_per_file): split the workbook or raise the limit"
                )
                limit = limits.max_chunks_per_file
                raise IngestError.because(template, sheet=sheet.title, limit=limit)
            label = f"[{sheet.title}!{rows[0][0]}:{rows[-1][0]}] {header}"
            loaded.blocks.append(Segment("\n".join([label, *(r for _, r in rows)]), kind="table"))
        rows.clear()
        size = 0

    for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
        cells = [_cell(value) for value in values]
        while cells and not cells[-1]:
            cells.pop()
        if not cells:
            continue
        line = " | ".join(cells)
        if header is None:
            header, header_row = line, number
            continue
        if rows and size + len(line) > BLOCK_CHARS:
            flush()
        rows.append((number, line))
        size += len(line) + 1
    if header is not None and not rows:  # a sheet of one row: the header is the content
        label = f"[{sheet.title}!{header_row}:{header_row}]"
        loaded.blocks.append(Segment(f"{label} {header}", kind="table"))
    flush()


def _cell(value: object) -> str:
    """A cell's value as a person would read it in Excel."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    return squash(str(value))

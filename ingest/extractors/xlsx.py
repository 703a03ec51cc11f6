"""Worker task ``xlsx``: every visible sheet as tables whose header row is repeated in every block.

openpyxl reads the package in read-only mode (rows streamed from the XML, not a workbook held in
memory) with ``data_only``: a formula cell gives the value Excel last computed and saved, never
the formula text, which no one asks about. The package's declared unpacked size is checked
first, and the elements of every XML part (shared strings, sheets, styles) are counted against
``ingest.max_units_per_file`` before openpyxl reads any (:mod:`ingest.extractors.package`): a
sheet of 33 million empty rows makes no chunk, and must cost a count, not a read. The rows and
cells openpyxl yields count against the same limit again as they are read, since it also yields
the empty rows a gap in the row numbers stands for. The sheet's declared dimensions are
ignored, so a sheet claiming ``A1:XFD1048576`` costs only the cells it really has.

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
from typing import Any

from ingest.extractors.answer import answer, rejecting
from ingest.extractors.nearby import Block, squash
from ingest.extractors.package import count_parts, open_package, unreadable
from ingest.extractors.units import Units
from rag.errors import IngestError, Message

# Rows per block, in characters: with its header line a block stays under 256 tokens of the
# XLM-R tokenizer (bge-m3, multilingual-e5) on Korean tables (~0.6 tokens per character), so
# the chunker keeps it whole and its row range stays exact.
BLOCK_CHARS = 380
ROWS_AND_CELLS = "rows and cells"


@rejecting
def extract(data: bytes, options: dict[str, Any]) -> dict[str, Any]:
    """An XLSX workbook: table blocks per visible sheet, in sheet order."""
    import openpyxl

    units = Units(options, "XLSX")
    with open_package(data, "XLSX") as archive:
        count_parts(archive, "XLSX", Units(options, "XLSX"))
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises KeyError, ValueError, lxml errors... on junk
        raise unreadable("XLSX", error) from None
    reader = _Reader(units, int(options["max_chunks"]))
    try:
        for sheet in workbook.worksheets:
            if sheet.sheet_state != "visible":
                reader.notes.append(
                    Message.because("skipped hidden sheet {sheet!r}", sheet=sheet.title)
                )
                continue
            reader.sheet(sheet)
    except IngestError:
        raise
    except Exception as error:  # a broken sheet part surfaces only while its rows are read
        raise unreadable("XLSX", error) from None
    finally:
        workbook.close()
    if not reader.blocks:
        template = "no cells with values in the workbook (every sheet is empty or hidden)"
        raise IngestError.because(template)
    return answer(reader.blocks, reader.notes)


class _Reader:
    """The blocks of a workbook's sheets, its rows and cells counted as they are read."""

    def __init__(self, units: Units, max_chunks: int) -> None:
        self.units = units
        self.max_chunks = max_chunks
        self.blocks: list[Block] = []
        self.notes: list[Message] = []

    def sheet(self, sheet: Any) -> None:
        """One visible sheet: its name as a heading, then its rows in labelled blocks."""
        before = len(self.blocks)
        self.blocks.append(Block("text", squash(sheet.title), headings=((0, 1),)))
        self._rows(sheet)
        if len(self.blocks) == before + 1:
            self.blocks.pop()
            self.notes.append(Message.because("skipped empty sheet {sheet!r}", sheet=sheet.title))

    def _rows(self, sheet: Any) -> None:
        sheet.reset_dimensions()
        header: str | None = None
        header_row = 0
        rows: list[tuple[int, str]] = []
        size = 0

        def flush() -> None:
            nonlocal size
            if rows and header is not None:
                if len(self.blocks) >= self.max_chunks:
                    template = (
                        "sheet {sheet!r} makes more than {limit:,} chunks "
                        "(ingest.max_chunks_per_file): split the workbook or raise the limit"
                    )
                    raise IngestError.because(template, sheet=sheet.title, limit=self.max_chunks)
                label = f"[{sheet.title}!{rows[0][0]}:{rows[-1][0]}] {header}"
                self.blocks.append(Block("table", "\n".join([label, *(r for _, r in rows)])))
            rows.clear()
            size = 0

        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            self.units.add(1 + len(values), ROWS_AND_CELLS)
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
            self.blocks.append(Block("table", f"{label} {header}"))
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

"""Structural units a file may hold, counted as a reader reads them.

A crafted file can be tiny and still hold millions of empty things: 8 million empty paragraphs
in a 100 KB DOCX, 33 million empty rows in a 1 MB workbook. Empty units make no chunks, so the
chunk limit never sees them; each reader therefore counts what it reads (XML elements of an
Office package, rows and cells of a sheet, HTML elements, lines of text) and stops the file at
``ingest.max_units_per_file`` with one line, before the time or memory limits have to.
"""

from __future__ import annotations

from typing import Any

from rag.errors import IngestError

TOO_MANY_UNITS = (
    "{label} holds more than {limit:,} {units} (ingest.max_units_per_file): "
    "split the file or raise the limit"
)


class Units:
    """The units one file has used so far, against its limit.

    Args:
        options: The task's options; ``max_units`` is the limit.
        label: The format, for the message (``DOCX``).

    """

    def __init__(self, options: dict[str, Any], label: str) -> None:
        self.limit = int(options["max_units"])
        self.label = label
        self.count = 0

    def add(self, count: int, units: str) -> None:
        """Count ``count`` more ``units`` (``"rows and cells"``).

        Raises:
            IngestError: The file passed the limit.

        """
        self.count += count
        if self.count > self.limit:
            raise IngestError.because(
                TOO_MANY_UNITS, label=self.label, limit=self.limit, units=units
            )

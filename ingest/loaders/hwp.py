"""HWP 5 and HWPX (Hancom) documents, parsed in the isolated child process.

The readers are :mod:`ingest.extractors.hwp` (HWP 5) and :mod:`ingest.extractors.hwpx` (HWPX); they
run under the same timeout and memory limit as PDF parsing, since both formats are compressed
containers of records or XML that a crafted file can inflate. Their blocks come back through
:mod:`ingest.loaders.isolated`, which decodes the pictures under the file's image budget.
"""

from __future__ import annotations

from pathlib import Path

from ingest.file_limits import Limits
from ingest.loaders.base import Loaded
from ingest.loaders.isolated import run_task, to_loaded
from rag.errors import IngestError


def load_hwp(path: Path, data: bytes, limits: Limits) -> Loaded:
    """An HWP 5 document: paragraphs, tables (rows of cells) and captioned pictures."""
    return _checked(to_loaded(run_task("hwp", data, limits, label="HWP parser"), limits))


def load_hwpx(path: Path, data: bytes, limits: Limits) -> Loaded:
    """An HWPX document: paragraphs, tables (rows of cells) and captioned pictures."""
    return _checked(to_loaded(run_task("hwpx", data, limits, label="HWPX parser"), limits))


def _checked(loaded: Loaded) -> Loaded:
    if not loaded.blocks:
        raise IngestError.because("no text or pictures in the document")
    return loaded

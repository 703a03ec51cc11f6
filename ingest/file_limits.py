"""The limits that keep one hostile or oversized file from costing more than its own failure."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Literal

from rag.config import Settings

OcrMode = Literal["auto", "off", "always"]


@dataclass
class OcrBudget:
    """The OCR time one ingest (a command, an upload) has spent, shared by its files."""

    spent: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def spend(self, seconds: float) -> None:
        """Charge ``seconds`` of OCR to the ingest."""
        with self._lock:
            self.spent += seconds


@dataclass(frozen=True)
class Limits:
    """Per-file limits applied while loading and chunking (file size is checked on read).

    Args:
        max_image_pixels: Larger images (standalone or embedded) are refused before decoding.
        max_images_per_file: Embedded images beyond this many are skipped.
        max_chunks_per_file: A file that would make more chunks fails before any is embedded.
        max_image_pixels_per_file: Embedded images stop once their decoded pixels would pass
            this many in one file (counted from their headers, before decoding).
        max_units_per_file: Structural units (XML elements of an Office or HWPX package, rows
            and cells, HTML elements, lines, HWP records, PDF pages) one file may hold; a file
            with more fails while it is read (:mod:`ingest.extractors.units`).
        pdf_timeout_s: Wall-clock limit for one isolated parse (any document, or OCR of one
            image); OCR adds ``ocr_timeout_s`` per page it reads.
        pdf_memory_mb: Memory that worker process may allocate.
        ocr: ``auto`` reads image files and PDF pages without a text layer with Tesseract;
            ``always`` also replaces PDF text layers by OCR; ``off`` never runs it.
        ocr_languages: Tesseract languages (``kor+eng``).
        ocr_dpi: Resolution PDF pages are rendered at for OCR.
        ocr_timeout_s: Limit for one page (or image) in Tesseract; past it that page is skipped.
        ocr_max_pages: Pages of one PDF read by OCR; later ones are skipped with a note.
        ocr_file_budget_s: Wall-clock seconds OCR may spend on one file; pages it has not
            reached by then are skipped with a note.
        ocr_batch_budget_s: Seconds OCR may spend in one ingest (all its files together).
        ocr_budget: What this ingest has spent (the pipeline gives each ingest its own).
        ocr_tessdata: Tesseract's language-data folder ("": ``$TESSDATA_PREFIX`` or the usual
            places, such as Debian's ``/usr/share/tesseract-ocr/5/tessdata``).

    """

    max_image_pixels: int = 50_000_000
    max_images_per_file: int = 100
    max_chunks_per_file: int = 5_000
    max_image_pixels_per_file: int = 500_000_000
    max_units_per_file: int = 1_000_000
    pdf_timeout_s: float = 60.0
    pdf_memory_mb: int = 2_048
    ocr: OcrMode = "auto"
    ocr_languages: str = "kor+eng"
    ocr_dpi: int = 200
    ocr_timeout_s: float = 30.0
    ocr_max_pages: int = 100
    ocr_tessdata: str = ""
    ocr_file_budget_s: float = 300.0
    ocr_batch_budget_s: float = 1800.0
    ocr_budget: OcrBudget = field(default_factory=OcrBudget, compare=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        """The limits configured in :class:`Settings`."""
        return cls(
            max_image_pixels=settings.max_image_pixels,
            max_images_per_file=settings.ingest.max_images_per_file,
            max_chunks_per_file=settings.ingest.max_chunks_per_file,
            max_image_pixels_per_file=settings.ingest.max_image_pixels_per_file,
            max_units_per_file=settings.ingest.max_units_per_file,
            pdf_timeout_s=settings.ingest.parser_timeout_s,
            pdf_memory_mb=settings.ingest.parser_memory_mb,
            ocr=settings.ingest.ocr.mode,
            ocr_languages=settings.ingest.ocr.languages,
            ocr_dpi=settings.ingest.ocr.dpi,
            ocr_timeout_s=settings.ingest.ocr.timeout_s,
            ocr_max_pages=settings.ingest.ocr.max_pages,
            ocr_tessdata=settings.ingest.ocr.tessdata,
            ocr_file_budget_s=settings.ingest.ocr.file_budget_s,
            ocr_batch_budget_s=settings.ingest.ocr.batch_budget_s,
        )

"""PDFs: text per page with page numbers, embedded images as figures, OCR for scanned pages.

The parsing runs in :mod:`ingest.extractors.pdf`, in the isolated child process (see
:mod:`ingest.loaders.isolated`), under ``pdf_timeout_s``. Pages without a text layer come back
as grayscale renderings when ``ocr`` allows it and Tesseract is there; they are then read in
workers under ``ocr_timeout_s`` per page and the OCR budgets (:mod:`ingest.loaders.ocr`), so
one page that fails OCR costs only that page. When OCR is off or unavailable, what was left
unread is said.
"""

from __future__ import annotations

from pathlib import Path

from ingest.extractors.reflow import reflow
from ingest.file_limits import Limits
from ingest.loaders.base import Loaded, Segment
from ingest.loaders.isolated import run_task, to_loaded
from ingest.loaders.ocr import ocr_options, ocr_problem, recognize_pages
from rag.errors import IngestError


def load_pdf(path: Path, data: bytes, limits: Limits) -> Loaded:
    """A PDF: one text segment per page with text, one figure per new embedded image."""
    problem = ocr_problem(limits) if limits.ocr != "off" else None
    ocr = "off" if problem is not None else limits.ocr
    options = {**ocr_options(limits), "ocr": ocr, "ocr_max_pages": limits.ocr_max_pages}
    result = run_task("pdf", data, limits, label="PDF parser", options=options)
    loaded = to_loaded(result, limits, reflowed=True)
    scans = {b["page"]: b for b in result["blocks"] if b["type"] == "scan"}
    read = recognize_pages({n: scan["image"] for n, scan in scans.items()}, limits)
    loaded.notes.extend(read.notes)
    loaded.layouts.extend(read.layouts)
    loaded.layouts.sort(key=lambda layout: layout.page)
    for number, scan in scans.items():
        text = read.texts.get(number) or reflow(scan["text"])  # OCR read nothing: keep the layer
        if text:
            loaded.blocks.append(Segment(text, page=number))
    textless = [
        b["page"] for b in result["blocks"] if b["type"] == "text" and not b["text"].strip()
    ]
    loaded.blocks.sort(key=lambda block: block.page or 0)  # OCR'd pages in page order (stable)
    if problem is not None and textless:
        loaded.run_notes.append(problem)
    if not any(isinstance(b, Segment) or b.captions for b in loaded.blocks):
        if problem is not None:
            raise IngestError(problem)
        if limits.ocr == "off":
            template = "no text or images in the PDF (its pages have no text layer; OCR is off)"
        else:
            template = (
                "no text or images in the PDF (its pages have no text layer; OCR found no text)"
            )
        raise IngestError.because(template)
    return loaded

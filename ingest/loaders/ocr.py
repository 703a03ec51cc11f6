"""OCR from the parent's side: pages and images sent to Tesseract workers, within a budget.

Tesseract runs in isolated workers (:mod:`ingest.extractors.ocr`). Each page has its own limit
(``[ingest.ocr] timeout_s``), and OCR as a whole has two budgets of wall-clock time: one per
file (``file_budget_s``) and one per ingest, an upload or a command (``batch_budget_s``,
:class:`~ingest.file_limits.OcrBudget`). A file's OCR gets a deadline, whichever budget ends
first; workers start no page after it and cut the page running then short, and the pages left
unread are named in one note that says which budget ran out. Twelve pages of noise, each
costing Tesseract its full page limit, thus cost one budget, not twelve limits.
"""

from __future__ import annotations

import base64
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ingest.extractors.ocr import skipped_ocr, unavailable
from ingest.extractors.reflow import reflow
from ingest.file_limits import Limits
from ingest.loaders.isolated import run_task
from rag.errors import IngestError, Message
from rag.store.records import PageLayout

# How long past its deadline a worker may take to stop and answer before it is killed.
_GRACE_S = 10.0
_PAGES_UNREAD = (
    "skipped OCR of {count} of {total} pages: the OCR budget of {limit:g} s ({setting}) is spent"
)
_IMAGE_UNREAD = "skipped OCR of the image: the OCR budget of {limit:g} s ({setting}) is spent"


def ocr_options(limits: Limits) -> dict[str, Any]:
    """What a worker needs to run Tesseract."""
    return {
        "tessdata": limits.ocr_tessdata,
        "languages": limits.ocr_languages,
        "timeout_s": limits.ocr_timeout_s,
        "dpi": limits.ocr_dpi,
    }


def ocr_problem(limits: Limits) -> str | None:
    """Why OCR cannot run with these limits' Tesseract, or None when it can."""
    return unavailable(limits.ocr_tessdata, limits.ocr_languages)


@dataclass(frozen=True)
class _Window:
    """One file's OCR time: its deadline and the budget that sets it."""

    deadline: float
    limit: float
    setting: str

    @classmethod
    def of(cls, limits: Limits) -> _Window:
        now = time.monotonic()
        left = limits.ocr_batch_budget_s - limits.ocr_budget.spent
        if limits.ocr_file_budget_s <= left:
            return cls(
                now + limits.ocr_file_budget_s, limits.ocr_file_budget_s, "ingest.ocr.file_budget_s"
            )
        return cls(now + max(left, 0.0), limits.ocr_batch_budget_s, "ingest.ocr.batch_budget_s")

    def over(self) -> bool:
        return time.monotonic() >= self.deadline

    def fields(self) -> dict[str, float | str]:
        """The budget a note on unread text names: its ``limit`` and its ``setting``."""
        return {"limit": self.limit, "setting": self.setting}


@dataclass
class OcrText:
    """What OCR read in one image file, with the notes to report."""

    text: str = ""
    notes: list[Message] = field(default_factory=list)
    run_notes: list[str] = field(default_factory=list)


@dataclass
class PagesRead:
    """What OCR read on rendered pages: text and word boxes by page, notes on failed pages."""

    texts: dict[int | None, str] = field(default_factory=dict)
    notes: list[Message] = field(default_factory=list)
    layouts: list[PageLayout] = field(default_factory=list)

    def add(self, other: PagesRead) -> None:
        """Take in another batch's pages."""
        self.texts.update(other.texts)
        self.notes.extend(other.notes)
        self.layouts.extend(other.layouts)


def recognize_image(data: bytes, limits: Limits) -> OcrText:
    """OCR of one image file in a worker; a failure costs the text, never the image."""
    problem = ocr_problem(limits)
    if problem is not None:
        return OcrText(run_notes=[problem])
    read, window = _timed([[(None, data)]], limits)
    if None not in read.texts and not read.notes:
        read.notes.append(Message.because(_IMAGE_UNREAD, **window.fields()))
    return OcrText(read.texts.get(None, ""), read.notes)


def recognize_pages(scans: dict[int, bytes], limits: Limits) -> PagesRead:
    """OCR of rendered pages: their text and word boxes by page, and notes on pages left unread.

    The pages are dealt into one batch per core, each batch one worker (Tesseract's language
    data loads once per worker, not once per page), run at the same time.
    """
    if not scans:
        return PagesRead()
    workers = max(1, min(len(scans), os.cpu_count() or 1))
    numbers = sorted(scans)
    batches: list[list[tuple[int | None, bytes]]] = [
        [(n, scans[n]) for n in numbers[i::workers]] for i in range(workers)
    ]
    read, window = _timed(batches, limits)
    failed = {note.values.get("page") for note in read.notes}
    unread = [n for n in numbers if n not in read.texts and n not in failed]
    if unread:
        read.notes.append(
            Message.because(_PAGES_UNREAD, count=len(unread), total=len(numbers), **window.fields())
        )
    return read


def _timed(
    batches: list[list[tuple[int | None, bytes]]], limits: Limits
) -> tuple[PagesRead, _Window]:
    """Read the batches at once within the file's window, charging the time to the ingest."""
    window = _Window.of(limits)
    started = time.monotonic()
    read = PagesRead()
    try:
        with ThreadPoolExecutor(len(batches)) as pool:
            for batch in pool.map(lambda b: _batch(b, limits, window), batches):
                read.add(batch)
    finally:
        limits.ocr_budget.spend(time.monotonic() - started)
    return read, window


def _batch(pages: list[tuple[int | None, bytes]], limits: Limits, window: _Window) -> PagesRead:
    """One worker reads ``pages``; if it fails as a whole, each page is retried alone.

    Pages it did not reach before the deadline are in neither the texts nor the notes.
    """
    if not pages or window.over():
        return PagesRead()
    request = {"pages": [[n, base64.b64encode(data).decode()] for n, data in pages]}
    own = limits.pdf_timeout_s + len(pages) * limits.ocr_timeout_s
    try:
        result = run_task(
            "ocr",
            json.dumps(request).encode(),
            limits,
            label="OCR",
            options={**ocr_options(limits), "deadline": window.deadline},
            timeout_s=min(own, window.deadline - time.monotonic() + _GRACE_S),
        )
    except IngestError as error:
        if window.over():
            return PagesRead()  # stopped by the budget: the pages stay unread
        if len(pages) > 1:  # a page crashed or hung Tesseract: find it, keep the others
            read = PagesRead()
            for page in pages:
                read.add(_batch([page], limits, window))
            return read
        return PagesRead(notes=[skipped_ocr(pages[0][0], str(error))])
    texts = {b["page"]: reflow(b["text"]) for b in result["blocks"] if b["type"] == "text"}
    return PagesRead(texts, result["notes"], result["layouts"])

"""Parsers that run in the isolated child: send the bytes, check the JSON, build the blocks.

PDF, HWP and HWPX parsing and OCR happen in :mod:`ingest.isolation.child` under a wall-clock timeout
and a memory limit (see :mod:`ingest.isolation.process`); this module is the parent's side. The
child's answer is untrusted input like the file itself: anything off its schema is one error, images
are decoded again here under the same per-file budget as any embedded image, and text is reflowed
(PDF, OCR) so the chunker sees sentences.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import dataclass, field
from typing import Any

from ingest.extractors.nearby import Block
from ingest.extractors.ocr import skipped_ocr, unavailable
from ingest.extractors.reflow import reflow
from ingest.file_limits import Limits
from ingest.isolation.process import run_isolated
from ingest.loaders.base import MAX_IMAGE_SIDE, Loaded
from ingest.loaders.image import ImageBudget, loaded_from_blocks
from rag.errors import IngestError, Message
from rag.store.records import PageLayout, words_of

# The child's JSON result may be at most this large (images are PNG, bounded in size and count).
MAX_OUTPUT_BYTES = 512 * 1024 * 1024


def run_task(
    task: str,
    data: bytes,
    limits: Limits,
    *,
    label: str,
    options: dict[str, Any] | None = None,
    ocr_pages: int = 0,
) -> dict[str, Any]:
    """Run one child task and return its validated result.

    Args:
        task: A task of :mod:`ingest.isolation.child`.
        data: The file's bytes.
        limits: The per-file limits (timeouts, memory, images, OCR).
        label: What the child is, for messages (``"HWP parser"``).
        options: Task options beyond the limits every task gets.
        ocr_pages: Pages the child may OCR; each adds ``ocr_timeout_s`` to its wall clock.

    Raises:
        IngestError: The child failed, or the file is one the task rejects.

    """
    everything = {
        "max_pixels": limits.max_image_pixels,
        "max_images": limits.max_images_per_file,
        "max_pixels_per_file": limits.max_image_pixels_per_file,
        "max_side": MAX_IMAGE_SIDE,
        **(options or {}),
    }
    raw = run_isolated(
        "ingest.isolation.child",
        data,
        args=[task, "--options", json.dumps(everything)],
        timeout_s=limits.pdf_timeout_s + ocr_pages * limits.ocr_timeout_s,
        memory_mb=limits.pdf_memory_mb,
        max_output_bytes=MAX_OUTPUT_BYTES,
        label=label,
    )
    return _validated(raw, label)


def ocr_options(limits: Limits) -> dict[str, Any]:
    """What a child needs to run Tesseract."""
    return {
        "tessdata": limits.ocr_tessdata,
        "languages": limits.ocr_languages,
        "timeout_s": limits.ocr_timeout_s,
        "dpi": limits.ocr_dpi,
    }


def ocr_problem(limits: Limits) -> str | None:
    """Why OCR cannot run with these limits' Tesseract, or None when it can."""
    return unavailable(limits.ocr_tessdata, limits.ocr_languages)


def to_loaded(result: dict[str, Any], limits: Limits, *, reflowed: bool = False) -> Loaded:
    """Segments and figures from a validated child result, figures under one image budget."""
    blocks = [_block_of(b, reflowed) for b in result["blocks"] if b["type"] != "scan"]
    loaded = loaded_from_blocks(blocks, ImageBudget(limits))
    loaded.notes[:0] = result["notes"]
    loaded.run_notes.extend(result["run_notes"])
    loaded.layouts.extend(result["layouts"])
    return loaded


def _block_of(block: dict[str, Any], reflowed: bool) -> Block:
    if block["type"] == "figure":
        captions = tuple(block["captions"])
        return Block("figure", payload=block["image"], captions=captions, page=block["page"])
    text = reflow(block["text"]) if reflowed and block["type"] == "text" else block["text"]
    headings = () if reflowed else tuple(block["headings"])  # reflowing moves lines
    return Block(block["type"], text, page=block["page"], headings=headings)


@dataclass
class OcrText:
    """What OCR read in one image file, with the notes to report."""

    text: str = ""
    notes: list[Message] = field(default_factory=list)
    run_notes: list[str] = field(default_factory=list)


def recognize_image(data: bytes, limits: Limits) -> OcrText:
    """OCR of one image file in the child; a failure costs the text, never the image."""
    problem = ocr_problem(limits)
    if problem is not None:
        return OcrText(run_notes=[problem])
    read = _recognize_batch([(None, data)], limits)
    return OcrText(read.texts.get(None, ""), read.notes)


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


def recognize_pages(scans: dict[int, bytes], limits: Limits) -> PagesRead:
    """OCR of rendered pages: their text and word boxes by page, and notes on pages that failed.

    The pages are dealt into one batch per core, each batch one child (Tesseract's language
    data loads once per child, not once per page), run at the same time.
    """
    from concurrent.futures import ThreadPoolExecutor

    workers = max(1, min(len(scans), os.cpu_count() or 1))
    numbers = sorted(scans)
    batches = [[(n, scans[n]) for n in numbers[i::workers]] for i in range(workers)]
    read = PagesRead()
    with ThreadPoolExecutor(workers) as pool:
        for batch in pool.map(lambda batch: _recognize_batch(batch, limits), batches):
            read.add(batch)
    return read


def _recognize_batch(pages: list[tuple[int | None, bytes]], limits: Limits) -> PagesRead:
    """One child reads ``pages``; if it fails as a whole, each page is retried alone."""
    if not pages:
        return PagesRead()
    request = {"pages": [[n, base64.b64encode(data).decode()] for n, data in pages]}
    try:
        result = run_task(
            "ocr",
            json.dumps(request).encode(),
            limits,
            label="OCR",
            options=ocr_options(limits),
            ocr_pages=len(pages),
        )
    except IngestError as error:
        if len(pages) > 1:  # a page crashed or hung Tesseract: find it, keep the others
            read = PagesRead()
            for page in pages:
                read.add(_recognize_batch([page], limits))
            return read
        return PagesRead(notes=[skipped_ocr(pages[0][0], str(error))])
    texts = {b["page"]: reflow(b["text"]) for b in result["blocks"] if b["type"] == "text"}
    return PagesRead(texts, result["notes"], result["layouts"])


# --- validation of the child's JSON -------------------------------------------------------------


def _validated(raw: bytes, label: str) -> dict[str, Any]:
    """The child's result in its schema; anything else is a parser failure, not a crash here."""
    try:
        result = json.loads(raw)
        if isinstance(result, dict) and "error" in result:
            raise IngestError.from_json(result)
        blocks = [_block(block) for block in result["blocks"]]
        notes = [Message.from_json(note) for note in result["notes"]]
        run_notes = [_string(note) for note in result.get("run_notes", [])]
        layouts = [_layout(layout) for layout in result.get("layouts", [])]
    except (ValueError, KeyError, TypeError, binascii.Error):
        msg = f"{label} returned malformed output"
        raise IngestError(msg) from None
    return {"blocks": blocks, "notes": notes, "run_notes": run_notes, "layouts": layouts}


def _layout(layout: dict[str, Any]) -> PageLayout:
    page = _whole(layout["page"])
    if page < 1:
        raise ValueError(page)
    return PageLayout(page, words_of(layout["words"]))


def _block(block: dict[str, Any]) -> dict[str, Any]:
    kind = _string(block["type"])
    page = block.get("page")
    if page is not None and (not isinstance(page, int) or isinstance(page, bool) or page < 1):
        raise TypeError
    if kind in ("figure", "scan"):
        return {
            "type": kind,
            "image": base64.b64decode(_string(block["image"]), validate=True),
            "captions": [_string(c) for c in block.get("captions", [])],
            "text": _string(block.get("text", "")),
            "page": page,
        }
    if kind not in ("text", "table"):
        raise ValueError(kind)
    headings = [(_whole(line), _whole(level)) for line, level in block.get("headings", [])]
    return {"type": kind, "text": _string(block["text"]), "page": page, "headings": headings}


def _whole(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise TypeError
    return value


def _string(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError
    return value

"""Readers that run in the isolated worker: send the bytes, check the JSON, build the blocks.

Every document format is parsed in a worker process (:mod:`ingest.isolation.child`) under a
wall-clock timeout and a memory limit (see :mod:`ingest.isolation.process`); so is OCR. This
module is the parent's side. The worker's answer is untrusted input like the file itself:
anything off its schema is one error, images are decoded here under the file's image budget
(:class:`~ingest.loaders.image.ImageBudget`), and text is reflowed (PDF, OCR) so the chunker
sees sentences.
"""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path
from typing import Any

from ingest.extractors.nearby import Block
from ingest.extractors.reflow import reflow
from ingest.file_limits import Limits
from ingest.isolation.child import TASKS
from ingest.isolation.process import run_isolated
from ingest.loaders.base import MAX_IMAGE_SIDE, Loaded, Loader
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
    timeout_s: float | None = None,
) -> dict[str, Any]:
    """Run one worker task and return its validated result.

    Args:
        task: A task of :mod:`ingest.isolation.child` (:data:`~ingest.isolation.child.TASKS`).
        data: The file's bytes.
        limits: The per-file limits (timeouts, memory, images, OCR).
        label: What the child is, for messages (``"HWP parser"``).
        options: Task options beyond the limits every task gets.
        timeout_s: The worker's wall clock (default ``limits.pdf_timeout_s``).

    Raises:
        IngestError: The child failed, or the file is one the task rejects.

    """
    everything = {
        "max_pixels": limits.max_image_pixels,
        "max_images": limits.max_images_per_file,
        "max_pixels_per_file": limits.max_image_pixels_per_file,
        "max_side": MAX_IMAGE_SIDE,
        "max_units": limits.max_units_per_file,
        "max_chunks": limits.max_chunks_per_file,
        **(options or {}),
    }
    raw = run_isolated(
        TASKS[task],
        data,
        options=everything,
        timeout_s=limits.pdf_timeout_s if timeout_s is None else timeout_s,
        memory_mb=limits.pdf_memory_mb,
        max_output_bytes=MAX_OUTPUT_BYTES,
        label=label,
    )
    return _validated(raw, label)


def isolated(task: str, label: str) -> Loader:
    """The loader of a format read by worker task ``task`` (``label`` names it in messages)."""

    def load(path: Path, data: bytes, limits: Limits) -> Loaded:
        return to_loaded(run_task(task, data, limits, label=label), limits)

    return load


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

"""PDFs: text per page with page numbers, embedded images as figures, parsed in isolation.

The parsing itself runs in :mod:`ingest.pdf_extract`, a child process under a wall-clock
timeout and a memory limit (see :mod:`ingest.isolation`); this module sends the bytes, checks
the child's JSON as untrusted input, and turns it into segments and figures. PDF text arrives
as printed lines, so lines are rejoined into sentences (a line break survives only after
sentence-ending punctuation or before a list item) to give the chunker real sentence boundaries.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from pathlib import Path
from typing import Any

from ingest.isolation import run_isolated
from ingest.limits import Limits
from ingest.loaders.base import MAX_IMAGE_SIDE, Figure, Loaded, Segment
from ingest.loaders.image import embedded_figure
from rag.errors import IngestError

# The child's JSON result may be at most this large (images are PNG, bounded in size and count).
MAX_OUTPUT_BYTES = 512 * 1024 * 1024
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ufffe\uffff]")
_ENDS_LINE = re.compile(r"[.!?。！？:;)\]」』\"'”’]$")  # noqa: RUF001 (CJK punctuation)
_STARTS_ITEM = re.compile(r"^([•·▪◦○●■□▶\-–*]|\d{1,3}[.)]|[가-하][.)]|\(\d{1,3}\))\s*")  # noqa: RUF001


def load_pdf(path: Path, data: bytes, limits: Limits) -> Loaded:
    """A PDF: one text segment per page with text, one figure per new embedded image."""
    raw = run_isolated(
        "ingest.pdf_extract",
        data,
        args=[
            "--max-pixels",
            str(limits.max_image_pixels),
            "--max-images",
            str(limits.max_images_per_file),
            "--max-side",
            str(MAX_IMAGE_SIDE),
        ],
        timeout_s=limits.pdf_timeout_s,
        memory_mb=limits.pdf_memory_mb,
        max_output_bytes=MAX_OUTPUT_BYTES,
        label="PDF parser",
    )
    result = _parse(raw)
    loaded = Loaded(notes=result["notes"])
    for number, page in enumerate(result["pages"], start=1):
        text = reflow(page["text"])
        if text:
            loaded.blocks.append(Segment(text, page=number))
        for figure in page["figures"]:
            context = figure["context"]
            made = embedded_figure(figure["png"], (context,) if context else (), number, limits)
            if isinstance(made, Figure):
                loaded.blocks.append(made)
            else:
                loaded.notes.append(made)
    if not loaded.blocks:
        msg = "no text or images in the PDF (a scanned PDF needs OCR first)"
        raise IngestError(msg)
    return loaded


def _parse(raw: bytes) -> dict[str, Any]:
    """Validate the child's output; anything unexpected is a parser failure, not a crash here."""
    try:
        result = json.loads(raw)
        if isinstance(result, dict) and isinstance(result.get("error"), str):
            raise IngestError(result["error"])
        pages = [
            {
                "text": _string(page["text"]),
                "figures": [
                    {
                        "png": base64.b64decode(_string(f["png"]), validate=True),
                        "context": _string(f["context"]),
                    }
                    for f in page["figures"]
                ],
            }
            for page in result["pages"]
        ]
        notes = [_string(note) for note in result["notes"]]
    except (ValueError, KeyError, TypeError, binascii.Error):
        msg = "PDF parser returned malformed output"
        raise IngestError(msg) from None
    return {"pages": pages, "notes": notes}


def _string(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError
    return value


def reflow(text: str) -> str:
    """Join a page's printed lines back into paragraphs."""
    lines = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).split("\n")
    out: list[str] = []
    for line in (" ".join(raw.split()) for raw in lines):
        if not line:
            if out and out[-1]:
                out.append("")
            continue
        previous = out[-1] if out else ""
        if previous and not _ENDS_LINE.search(previous) and not _STARTS_ITEM.match(line):
            if previous.endswith("-") and line[:1].islower():  # a hyphenated English word
                out[-1] = previous[:-1] + line
            else:
                out[-1] = f"{previous} {line}"
        else:
            out.append(line)
    return "\n".join(out).strip()

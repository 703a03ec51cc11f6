"""Korean and English OCR with Tesseract: what an image or a scanned page says.

Tesseract runs through tesserocr (its C++ API, with libtesseract 5.5 in the wheel) over the language
data of the operating system's packages (``tesseract-ocr-kor``, ``tesseract-ocr-eng``). Chosen over
pytesseract, which starts the ``tesseract`` program per page, because it needs 1.9 CPU seconds for a
dense Korean A4 page where pytesseract with Debian's Tesseract 5.3 needs 2.4 plus half a second to
import (``benchmarks/ocr.py``): the difference between missing and meeting one page per second on
two cores. The isolation pytesseract's process gave is kept by running this module in the isolated
child (:mod:`ingest.isolation.child`): the parent kills a child past its wall clock, and a batch
whose child fails is retried page by page, so a page that crashes or hangs Tesseract costs only that
page. Within a child, each page has a cooperative deadline (``Recognize(timeout)``).

Settings measured on rendered Korean and English pages (``benchmarks/ocr.py``): page
segmentation mode 6 (one block of text; the default, 3, drops whole lines of Korean), pages
rendered at 200 dpi, text lines under :data:`MIN_LINE_PX` upscaled (screenshots print 12-16 px
text), no deskew (Tesseract absorbs a scan's half-degree tilt; a deskew pass gained nothing),
and one OpenMP thread per child with pages in parallel children instead.
"""

from __future__ import annotations

import base64
import functools
import io
import json
import os
import re
import time
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps

from ingest.extractors.layout import pixel_words
from rag.errors import Message

# Line height (px) under which an image is upscaled before OCR, the height aimed at, and caps.
MIN_LINE_PX = 24
TARGET_LINE_PX = 64
MAX_UPSCALE = 4.0
MAX_OCR_SIDE = 6000  # Tesseract's time grows with the pixels
MAX_TESSERACT_SIDE = 32767  # Tesseract refuses a wider or taller image at once
# Where Debian, Fedora, Homebrew and source builds put the language data.
TESSDATA_FOLDERS = (
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
    "/usr/local/share/tessdata",
    "/opt/homebrew/share/tessdata",
)
# A line of OCR output with none of these is noise (a rule, a border, a chart's bars).
_WORD = re.compile(r"[0-9A-Za-z\uac00-\ud7a3]")
_ALLOWED = ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF")
_UNREAD = "image files and scanned PDF pages were indexed without their text"


class OcrError(Exception):
    """One image could not be read (timeout, Tesseract failure)."""


class OcrTimeoutError(OcrError):
    """Recognition of one image ran out of its time."""


def skipped_ocr(page: int | None, error: str) -> Message:
    """The note for an image file (``page`` None) or a PDF page that OCR could not read."""
    if page is None:
        return Message.because("skipped OCR of the image: {error}", error=error)
    return Message.because("skipped OCR of page {page}: {error}", page=page, error=error)


def tessdata_folder(setting: str) -> str | None:
    """The language-data folder: the setting, ``$TESSDATA_PREFIX``, or a usual place."""
    for folder in (setting, os.environ.get("TESSDATA_PREFIX", ""), *TESSDATA_FOLDERS):
        if folder and Path(folder).is_dir():
            return folder
    return None


@functools.cache
def unavailable(tessdata: str, languages: str) -> str | None:
    """Why OCR cannot run here (no engine, no language data), or None when it can."""
    try:
        import tesserocr  # noqa: F401 (only whether it imports)
    except ImportError:
        reason = "tesserocr is not installed: pip install 'bllossom-rag[ocr]'"
        return f"OCR is unavailable ({reason}); {_UNREAD}"
    folder = tessdata_folder(tessdata)
    if folder is None:
        where = tessdata or "the usual places"
        return (
            f"OCR is unavailable (no Tesseract language data in {where}): install "
            f"tesseract-ocr-kor and tesseract-ocr-eng, or set ingest.ocr.tessdata; {_UNREAD}"
        )
    present = {path.stem for path in Path(folder).glob("*.traineddata")}
    missing = [lang for lang in languages.split("+") if lang not in present]
    if missing:
        return (
            f"OCR is unavailable: Tesseract has no {'+'.join(missing)} language data in {folder} "
            f"(install tesseract-ocr-{missing[0]}); {_UNREAD}"
        )
    return None


def extract(data: bytes, options: dict[str, Any]) -> dict[str, Any]:
    """Worker task ``ocr``: ``{"pages": [[page or null, base64 image], ...]}`` -> text blocks.

    A PDF page's words also come back with their boxes (``layouts``). ``options["deadline"]``
    (a ``time.monotonic`` instant, shared by every process on the machine) is when the file's or
    the ingest's OCR budget runs out: no page starts after it, and the page running then is cut
    short and left unread, for the parent to report.
    """
    # Before libtesseract starts OpenMP: pages run in parallel workers instead.
    os.environ["OMP_THREAD_LIMIT"] = "1"
    import tesserocr

    request = json.loads(data)
    blocks, notes, layouts = [], [], []
    folder = tessdata_folder(str(options.get("tessdata", "")))
    timeout_s, deadline = float(options["timeout_s"]), options.get("deadline")
    with tesserocr.PyTessBaseAPI(
        path=f"{folder}/", lang=options["languages"], psm=tesserocr.PSM.SINGLE_BLOCK
    ) as api:
        for page, encoded in request["pages"]:
            left = timeout_s if deadline is None else min(timeout_s, deadline - time.monotonic())
            if left <= 0:
                break  # the budget is spent: this page and the rest stay unread
            try:
                image = _decoded(base64.b64decode(encoded), int(options["max_pixels"]))
                text = recognize(api, image, left)
            except OcrTimeoutError:
                if left < timeout_s:
                    break  # cut short by the budget, not by the page's own limit
                notes.append(skipped_ocr(page, _ran_past(timeout_s)).to_json())
                continue
            except OcrError as error:
                notes.append(skipped_ocr(page, str(error)).to_json())
                continue
            blocks.append({"type": "text", "text": text, "page": page})
            if page is not None:  # a scanned page: where its words are, for highlighting
                layouts.append({"page": page, "words": word_boxes(api)})
    return {"blocks": blocks, "notes": notes, "layouts": layouts}


def _decoded(data: bytes, max_pixels: int) -> Image.Image:
    try:
        with Image.open(io.BytesIO(data), formats=_ALLOWED) as probe:
            if probe.width * probe.height > max_pixels:
                msg = f"image is over the {max_pixels:,}-pixel limit"
                raise OcrError(msg)
            return ImageOps.exif_transpose(probe).convert("L")  # a phone photo, upright
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise OcrError(f"not a readable image ({error})") from None


def recognize(api: Any, image: Image.Image, timeout_s: float) -> str:
    """The text ``api`` (a ``tesserocr.PyTessBaseAPI``) reads in ``image``, noise dropped.

    Raises:
        OcrTimeoutError: Recognition ran past ``timeout_s`` (Tesseract checks its deadline as it
            goes).
        OcrError: Tesseract cannot read the image (too large on a side) or gave up before the
            deadline without a result.

    """
    prepared = upscaled(image.convert("L"))
    if max(prepared.size) > MAX_TESSERACT_SIDE:
        width, height = prepared.size
        msg = (
            f"the image is {width}x{height} pixels; Tesseract reads at most "
            f"{MAX_TESSERACT_SIDE:,} on a side"
        )
        raise OcrError(msg)
    started = time.monotonic()
    api.SetImage(prepared)
    if not api.Recognize(timeout=max(1, int(timeout_s * 1000))):
        elapsed = time.monotonic() - started
        if elapsed >= timeout_s:
            raise OcrTimeoutError(_ran_past(timeout_s))
        msg = f"Tesseract stopped after {elapsed:.1f} s without reading the image"
        raise OcrError(msg)
    return clean(api.GetUTF8Text())


def word_boxes(api: Any) -> list[list[Any]]:
    """Where ``api`` read each word of the image it last recognized (:mod:`.layout` rows)."""
    import tesserocr

    level = tesserocr.RIL.WORD
    found = [
        (word.GetUTF8Text(level) or "", word.BoundingBox(level))
        for word in tesserocr.iterate_level(api.GetIterator(), level)
        if word.BoundingBox(level) is not None
    ]
    return pixel_words(found, api.GetThresholdedImage().size)


def _ran_past(timeout_s: float) -> str:
    return f"Tesseract ran past the {timeout_s:g}-second limit (ingest.ocr.timeout_s)"


def clean(text: str) -> str:
    """OCR output without noise lines (no letter or digit), white space tidied per line."""
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if _WORD.search(line))


def upscaled(gray: Image.Image) -> Image.Image:
    """``gray`` enlarged so its text lines are about :data:`TARGET_LINE_PX` tall, if small."""
    height = line_height(gray)
    if height is None or height >= MIN_LINE_PX:
        return gray
    factor = min(TARGET_LINE_PX / height, MAX_UPSCALE, MAX_OCR_SIDE / max(gray.size))
    if factor <= 1.0:
        return gray
    size = (round(gray.width * factor), round(gray.height * factor))
    return gray.resize(size, Image.Resampling.LANCZOS)


def line_height(gray: Image.Image) -> int | None:
    """The median height of the image's text lines, from its rows of ink; None without ink.

    Rows with dark pixels (light ones, on a dark background) form bands; on a page or a
    screenshot each band is a line of text.
    """
    import numpy as np

    pixels = np.asarray(gray)
    ink = (pixels < 128).any(axis=1) if pixels.mean() > 127 else (pixels > 127).any(axis=1)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], ink.astype(np.int8), [0]))))
    heights = edges[1::2] - edges[0::2]
    heights = heights[heights >= 4]  # specks and rules are not lines of text
    return int(np.median(heights)) if heights.size else None

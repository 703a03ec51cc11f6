"""Korean and English OCR with Tesseract: what an image or a scanned page says.

Tesseract runs through pytesseract, one ``tesseract`` process per page from the operating
system's package (``tesseract-ocr`` + ``tesseract-ocr-kor``). Chosen over tesserocr (the C API
in-process, ~20% faster per page in ``benchmarks/ocr.py``) because a page that hangs is then a
process pytesseract kills at ``ocr_timeout_s``, costing that page only, where the C API can only
ask a running recognition to stop; and because the engine is the one the OS keeps patched.
This module itself runs in the isolated child (:mod:`ingest.child`), so the decoding, rendering
and Tesseract's own processes all sit under the child's memory limit.

Settings measured on rendered Korean and English pages (``benchmarks/ocr.py``): page
segmentation mode 6 (one block of text; the default, 3, drops whole lines of Korean), pages
rendered at 200 dpi (as accurate as 300 on 11-point text, and faster), text smaller than
:data:`MIN_LINE_PX` upscaled (screenshots print 12-16 px text; Tesseract wants ~30 px lines),
no deskew (Tesseract's own line finding already absorbs a scan's half-degree tilt), and one
OpenMP thread per process with pages in parallel instead (OpenMP scales poorly on small pages).
"""

from __future__ import annotations

import functools
import io
import os
import re
import subprocess
from typing import Any

from PIL import Image

# Line height (px) under which an image is upscaled before OCR, and the most it is scaled.
MIN_LINE_PX = 24
TARGET_LINE_PX = 36
MAX_UPSCALE = 4.0
# The longest side an upscaled image may reach (Tesseract's time grows with the pixels).
MAX_OCR_SIDE = 6000
PSM = 6
# A line of OCR output with none of these is noise (a rule, a border, a chart's bars).
_WORD = re.compile(r"[0-9A-Za-z\uac00-\ud7a3]")
_ALLOWED = ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF")


class OcrError(Exception):
    """One image could not be read (timeout, Tesseract failure)."""


@functools.cache
def unavailable(command: str, languages: str) -> str | None:
    """Why OCR cannot run here (no program, a missing language), or None when it can.

    Checked once per process and setting: ``tesseract --list-langs`` costs a process start.
    """
    try:
        listed = subprocess.run(
            [command, "--list-langs"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        reason = getattr(error, "strerror", None) or str(error)
        return (
            f"OCR is unavailable ({command}: {reason}): install tesseract-ocr and "
            "tesseract-ocr-kor or set tesseract_cmd; image files and scanned PDF pages were "
            "indexed without their text"
        )
    present = {line.strip() for line in listed.stdout.splitlines()[1:]}
    missing = [lang for lang in languages.split("+") if lang not in present]
    if missing:
        return (
            f"OCR is unavailable: Tesseract has no {'+'.join(missing)} language data "
            f"(install tesseract-ocr-{missing[0]}); image files and scanned PDF pages were "
            "indexed without their text"
        )
    return None


def extract(data: bytes, options: dict[str, Any]) -> dict[str, Any]:
    """Child task ``ocr``: the text of one image file, as one text block."""
    try:
        with Image.open(io.BytesIO(data), formats=_ALLOWED) as probe:
            if probe.width * probe.height > int(options["max_pixels"]):
                return {"error": "image is over the pixel limit"}
            image = probe.convert("L")
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        return {"error": f"not a readable image ({error})"}
    try:
        text = recognize(image, options)
    except OcrError as error:
        return {"error": str(error)}
    return {"blocks": [{"type": "text", "text": text, "page": None}], "notes": []}


def recognize(image: Image.Image, options: dict[str, Any]) -> str:
    """The text Tesseract reads in ``image`` (noise lines dropped).

    Args:
        image: Any mode; it is converted to grayscale and upscaled when its text is small.
        options: ``tesseract_cmd``, ``languages``, ``timeout_s``.

    Raises:
        OcrError: Tesseract failed or ran past the timeout.

    """
    import pytesseract

    pytesseract.pytesseract.tesseract_cmd = options["tesseract_cmd"]
    # Pages run in parallel processes; OpenMP threads inside each would only contend.
    os.environ["OMP_THREAD_LIMIT"] = "1"
    prepared = upscaled(image.convert("L"))
    try:
        text = pytesseract.image_to_string(
            prepared,
            lang=options["languages"],
            config=f"--psm {PSM}",
            timeout=float(options["timeout_s"]),
        )
    except RuntimeError as error:  # pytesseract's timeout
        msg = f"Tesseract ran past the {float(options['timeout_s']):g}-second limit"
        raise OcrError(msg) from error
    except pytesseract.TesseractError as error:
        raise OcrError(f"Tesseract failed ({error.message.strip()[:200]})") from error
    return clean(text)


def clean(text: str) -> str:
    """OCR output without noise lines (no letter or digit), white space tidied per line."""
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if _WORD.search(line))


def upscaled(gray: Image.Image) -> Image.Image:
    """``gray`` enlarged so its text lines are about :data:`TARGET_LINE_PX` tall, if smaller."""
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

    Rows with dark pixels form bands; on a page or a screenshot each band is a line of text.
    """
    import numpy as np

    pixels = np.asarray(gray)
    ink = (pixels < 128).any(axis=1) if pixels.mean() > 127 else (pixels > 127).any(axis=1)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], ink.astype(np.int8), [0]))))
    heights = edges[1::2] - edges[0::2]
    heights = heights[heights >= 4]  # specks and rules are not lines of text
    return int(np.median(heights)) if heights.size else None

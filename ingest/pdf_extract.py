"""Child process: read one PDF on stdin, write its pages' text and images as JSON on stdout.

Run by :mod:`ingest.loaders.pdf` through :func:`ingest.isolation.run_isolated`, never in the
ingesting process. It sets its own memory and output limits before reading a byte, then uses
pypdfium2: each page's text, and each image object (skipping decorations smaller than
:data:`MIN_IMAGE_SIDE`, images over the pixel limit and repeats of an image already seen, such
as a logo on every page) as a PNG bounded to ``--max-side``, with the text printed just below
and above it as its context (where captions sit).

Output: ``{"pages": [{"text": str, "figures": [{"png": base64, "context": str}]}],
"notes": [str]}`` or ``{"error": str}`` for a file pdfium rejects.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import sys
from typing import Any

from ingest.isolation import MEMORY_EXIT, apply_limits

MIN_IMAGE_SIDE = 32
# How far around an image (in PDF points, 1/72 inch) its caption is looked for.
_BELOW, _ABOVE, _SIDE = 48.0, 24.0, 12.0


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, limit this process, extract, print JSON."""
    parser = argparse.ArgumentParser(prog="ingest.pdf_extract")
    parser.add_argument("--memory-mb", type=int, required=True)
    parser.add_argument("--max-output-bytes", type=int, required=True)
    parser.add_argument("--max-pixels", type=int, required=True)
    parser.add_argument("--max-images", type=int, required=True)
    parser.add_argument("--max-side", type=int, required=True)
    args = parser.parse_args(argv)
    apply_limits(args.memory_mb, args.max_output_bytes)
    data = sys.stdin.buffer.read()
    try:
        result = extract(data, args.max_pixels, args.max_images, args.max_side)
        payload = json.dumps(result, ensure_ascii=False)
    except MemoryError:
        sys.exit(MEMORY_EXIT)
    sys.stdout.write(payload)


def extract(data: bytes, max_pixels: int, max_images: int, max_side: int) -> dict[str, Any]:
    """Text and images of every page of the PDF in ``data``."""
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as error:
        return {"error": _pdfium_message(error)}
    pages: list[dict[str, Any]] = []
    notes: list[str] = []
    seen: set[str] = set()
    for number, page in enumerate(document, start=1):
        try:
            textpage = page.get_textpage()
            text = textpage.get_text_range()
            limits = (max_pixels, max_images, max_side)
            figures = _figures(page, textpage, number, limits, seen, notes)
        except pdfium.PdfiumError as error:
            notes.append(f"skipped unreadable page {number} ({error})")
            text, figures = "", []
        pages.append({"text": text, "figures": figures})
    return {"pages": pages, "notes": list(dict.fromkeys(notes))}


def _figures(
    page: Any,
    textpage: Any,
    number: int,
    limits: tuple[int, int, int],
    seen: set[str],
    notes: list[str],
) -> list[dict[str, str]]:
    """The page's new images (not seen on an earlier page) while the image budget lasts."""
    import pypdfium2.raw as pdfium_c

    max_pixels, max_images, max_side = limits
    figures = []
    for image in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,), max_depth=4):
        width, height = image.get_px_size()
        if min(width, height) < MIN_IMAGE_SIDE:
            continue
        if width * height > max_pixels:
            notes.append(
                f"skipped an embedded image on page {number}: {width}x{height} pixels, "
                f"over the {max_pixels:,}-pixel limit"
            )
            continue
        if len(seen) >= max_images:
            notes.append(f"skipped images after the first {max_images} (max_images_per_file)")
            break
        png = _png(image, max_side)
        if png is None:
            notes.append(f"skipped an undecodable embedded image on page {number}")
            continue
        digest = hashlib.sha256(png).hexdigest()
        if digest not in seen:
            seen.add(digest)
            figures.append(
                {"png": base64.b64encode(png).decode(), "context": _context(textpage, image)}
            )
    return figures


def _png(image: Any, max_side: int) -> bytes | None:
    import pypdfium2 as pdfium

    for render in (False, True):  # raw pixels first; rendering applies masks and odd colours
        try:
            picture = image.get_bitmap(render=render).to_pil().convert("RGB")
        except (pdfium.PdfiumError, ValueError, OSError):
            continue
        picture.thumbnail((max_side, max_side))
        buffer = io.BytesIO()
        picture.save(buffer, format="PNG")
        return buffer.getvalue()
    return None


def _context(textpage: Any, image: Any) -> str:
    left, bottom, right, top = image.get_bounds()
    below = textpage.get_text_bounded(left - _SIDE, bottom - _BELOW, right + _SIDE, bottom)
    above = textpage.get_text_bounded(left - _SIDE, top, right + _SIDE, top + _ABOVE)
    return " ".join(" ".join(part.split()) for part in (below, above) if part.strip())


def _pdfium_message(error: Exception) -> str:
    text = str(error)
    if "password" in text.lower():
        return "PDF is encrypted (a password is required)"
    return f"broken or truncated PDF ({text})"


if __name__ == "__main__":
    main()

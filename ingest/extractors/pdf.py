"""Worker task ``pdf``: one PDF's pages as text blocks and figures, OCR for pages without text.

Runs in :mod:`ingest.isolation.child`, never in the ingesting process. pypdfium2 gives each page's
text and each image object (skipping decorations smaller than :data:`MIN_IMAGE_SIDE` and repeats of
an image already seen, such as a logo on every page). Images are counted against ``max_images`` and
their pixels against ``max_pixels_per_file`` *before* they are decoded, and each becomes a PNG
bounded to ``max_side``, captioned by the caption printed next to it.

A caption is the line just below the image (else just above it) that reads like one
(``그림 1.``); it is taken out of the page's text, so it is indexed once, on the image. With no
such line, the nearest line below (else above) describes the image and stays in the text. Only
whole lines count: a band around the image also cuts through the paragraph above it, whose
tail must not become part of the caption.

Each page with a text layer also gives where its words are printed
(:mod:`ingest.extractors.layout`), so a passage can be shown highlighted on its page.

Pages without a text layer (scans; fewer than :data:`MIN_TEXT_CHARS` printed characters) are
rendered at ``dpi`` in grayscale and returned as ``scan`` blocks when ``ocr`` is ``auto``
(``always``: every page), for the parent to OCR one page per child process
(:mod:`ingest.extractors.ocr`), each under its own timeout, so parsing keeps its own time limit and
a page that fails OCR costs only that page. A scanned page's images are the scan itself and are not
kept as figures.
"""

from __future__ import annotations

import base64
import hashlib
import io
from typing import Any

from ingest.extractors.answer import rejecting
from ingest.extractors.layout import pdf_page_words
from ingest.extractors.nearby import TOO_MANY_IMAGES, clip, is_caption
from ingest.extractors.units import Units
from rag.errors import IngestError, Message

MIN_IMAGE_SIDE = 32
# A page with fewer printed characters than this is a scan (a copier stamps a page number or a
# date on scanned pages): OCR reads it, and its few characters are kept should OCR read nothing.
MIN_TEXT_CHARS = 16
# How far around an image (in PDF points, 1/72 inch) its caption is looked for.
_BELOW, _ABOVE, _SIDE = 48.0, 24.0, 12.0


@rejecting
def extract(data: bytes, options: dict[str, Any]) -> dict[str, Any]:
    """Text blocks and figures of every page of the PDF in ``data``; scans of pages to OCR."""
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as error:
        return _pdfium_error(error).to_json()
    blocks: list[dict[str, Any]] = []
    layouts: list[dict[str, Any]] = []
    notes: list[Message] = []
    images = _Images(options, notes)
    ocr, scans = options.get("ocr", "off"), 0
    units = Units(options, "PDF")
    for number, page in enumerate(document, start=1):
        units.add(1, "pages")
        try:
            textpage = page.get_textpage()
            text = textpage.get_text_range()
            if ocr == "always" or (ocr == "auto" and len("".join(text.split())) < MIN_TEXT_CHARS):
                if scans < int(options["ocr_max_pages"]):
                    scans += 1
                    blocks.append(_scan(page, number, int(options["dpi"]), text))
                    continue
                notes.append(
                    Message.because(
                        "skipped OCR after {count} pages (ingest.ocr.max_pages)", count=scans
                    )
                )
            figures, captions = images.of_page(page, textpage, number)
            words = pdf_page_words(page, textpage)
        except pdfium.PdfiumError as error:
            template = "skipped unreadable page {page} ({error})"
            notes.append(Message.because(template, page=number, error=str(error)))
            continue
        blocks.append({"type": "text", "text": _without(text, captions), "page": number})
        blocks.extend(figures)
        if words:
            layouts.append({"page": number, "words": words})
    return {
        "blocks": blocks,
        "notes": [note.to_json() for note in dict.fromkeys(notes)],
        "layouts": layouts,
    }


def _scan(page: Any, number: int, dpi: int, text: str) -> dict[str, Any]:
    """A page rendered in grayscale for OCR, as PNG, with its text layer (kept if OCR fails)."""
    picture = page.render(scale=dpi / 72, grayscale=True).to_pil()
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    image = base64.b64encode(buffer.getvalue()).decode()
    return {"type": "scan", "image": image, "text": text, "page": number}


class _Images:
    """The image objects worth keeping, under the file's image count and pixel budget."""

    def __init__(self, options: dict[str, Any], notes: list[Message]) -> None:
        self.max_pixels = int(options["max_pixels"])
        self.max_images = int(options["max_images"])
        self.pixels_left = int(options["max_pixels_per_file"])
        self.max_side = int(options["max_side"])
        self.notes = notes
        self.seen: set[str] = set()

    def of_page(
        self, page: Any, textpage: Any, number: int
    ) -> tuple[list[dict[str, Any]], list[str]]:
        """The page's new figures, and the caption lines they took from its text."""
        import pypdfium2.raw as pdfium_c

        figures, captions = [], []
        for image in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,), max_depth=4):
            width, height = image.get_px_size()
            if min(width, height) < MIN_IMAGE_SIDE:
                continue
            refused = self._refusal(width, height, number)
            if refused is not None:
                self.notes.append(refused)
                if refused.template == TOO_MANY_IMAGES:
                    break
                continue
            png = _png(image, self.max_side)
            if png is None:
                template = "skipped an undecodable embedded image on page {page}"
                self.notes.append(Message.because(template, page=number))
                continue
            digest = hashlib.sha256(png).hexdigest()
            if digest in self.seen:
                continue
            self.seen.add(digest)
            caption, is_label = _caption(textpage, image)
            if is_label:
                captions.append(caption)
            figures.append(
                {
                    "type": "figure",
                    "image": base64.b64encode(png).decode(),
                    "captions": [caption] if caption else [],
                    "page": number,
                }
            )
        return figures, captions

    def _refusal(self, width: int, height: int, number: int) -> Message | None:
        """Why an image may not be decoded (checked before it is), or None."""
        if width * height > self.max_pixels:
            template = (
                "skipped an embedded image on page {page}: {width}x{height} pixels, "
                "over the {limit:,}-pixel limit"
            )
            return Message.because(
                template, page=number, width=width, height=height, limit=self.max_pixels
            )
        if len(self.seen) >= self.max_images:
            return Message.because(TOO_MANY_IMAGES, count=self.max_images)
        if width * height > self.pixels_left:
            return Message.because(
                "skipped images past the file's decoded-pixel budget "
                "(ingest.max_image_pixels_per_file)"
            )
        self.pixels_left -= width * height
        return None


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


def _caption(textpage: Any, image: Any) -> tuple[str, bool]:
    """The image's caption and whether it is a caption proper (a label taken from the text)."""
    left, bottom, right, top = image.get_bounds()
    below = _lines(textpage.get_text_bounded(left - _SIDE, bottom - _BELOW, right + _SIDE, bottom))
    above = _lines(textpage.get_text_bounded(left - _SIDE, top, right + _SIDE, top + _ABOVE))
    nearest = below[:1] + above[-1:]  # the line touching the image on either side
    for line in nearest:
        if is_caption(line):
            return line, True
    return (nearest[0], False) if nearest else ("", False)


def _lines(text: str) -> list[str]:
    return [clip(line) for line in text.replace("\r", "\n").split("\n") if line.strip()]


def _without(text: str, captions: list[str]) -> str:
    """The page's text with each caption line (taken by its image) removed once."""
    if not captions:
        return text
    lines = text.replace("\r\n", "\n").split("\n")
    for caption in captions:
        for index, line in enumerate(lines):
            if clip(line) == caption:
                del lines[index]
                break
    return "\n".join(lines)


def _pdfium_error(error: Exception) -> IngestError:
    text = str(error)
    if "password" in text.lower():
        return IngestError.because("PDF is encrypted (a password is required)")
    return IngestError.because("broken or truncated PDF ({error})", error=text)

"""A standalone image file (a screenshot, a photo, a scan): one figure, read by OCR.

The image is decoded here under the pixel limit and stored as the figure; when ``ocr`` is ``auto``
or ``always`` Tesseract also reads it, in the isolated child (:mod:`ingest.extractors.ocr`). Its
words become the figure's caption, so a screenshot is found by what it says. A long text (a
photographed page) is also indexed as prose, since a caption chunk holds one chunk's worth of words;
the caption then keeps only its start. Without OCR (off, or Tesseract missing) the image is found by
its file name and sidecar caption, as before.
"""

from __future__ import annotations

from pathlib import Path

from ingest.file_limits import Limits
from ingest.loaders.base import Figure, Loaded, Segment
from ingest.loaders.image import decode_image
from ingest.loaders.ocr import recognize_image

# OCR text up to this long is the image's caption alone; longer text is also indexed as prose.
OCR_CAPTION_CHARS = 300


def load_image(path: Path, data: bytes, limits: Limits) -> Loaded:
    """A standalone image file: one figure named after the file, captioned by its OCR text."""
    image = decode_image(data, limits)
    loaded = Loaded()
    text = ""
    if limits.ocr != "off":
        result = recognize_image(data, limits)
        text = result.text
        loaded.notes.extend(result.notes)
        loaded.run_notes.extend(result.run_notes)
    caption = text[:OCR_CAPTION_CHARS]
    loaded.blocks.append(Figure(image, (caption,) if caption else (), fallback=path.name))
    if len(text) > OCR_CAPTION_CHARS:
        loaded.blocks.append(Segment(text))
    return loaded

"""Images: standalone files and images embedded in documents, decoded under the pixel limits.

Decoding goes through :func:`rag.images.open_image`, which reads the header first, so a file
claiming 30000x30000 pixels is refused before any pixel memory is spent; the result is upright
(EXIF orientation applied), RGB, and bounded to :data:`MAX_IMAGE_SIDE`.

Embedded images also draw on a per-file :class:`ImageBudget`: each is counted against
``ingest.max_images_per_file`` and its header's pixel count against
``ingest.max_image_pixels_per_file`` *before* it is decoded. Without it, a 50 MB Markdown file of
780 inline 49-megapixel PNGs (each legal on its own, and tiny when compressed) costs twenty
minutes and gigabytes to decode.
"""

from __future__ import annotations

import io
from collections.abc import Iterable

from PIL import Image, UnidentifiedImageError

from ingest.extractors.nearby import SKIPPED_IMAGE, TOO_MANY_IMAGES, Block
from ingest.file_limits import Limits
from ingest.loaders.base import Figure, Heading, Loaded, Segment, bounded
from rag.errors import IngestError, Message
from rag.images import ImageDecodeError, open_image

# Decoders an untrusted image may reach: Pillow's other plugins (EPS runs Ghostscript) never.
IMAGE_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF")


class ImageBudget:
    """How many embedded images, and how many decoded pixels, one file may still use."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.images = 0
        self.pixels = 0

    def admit(self, width: int, height: int) -> Message | None:
        """Count an image about to be decoded; the reason it may not be, or None."""
        if self.images >= self.limits.max_images_per_file:
            return Message.because(TOO_MANY_IMAGES, count=self.images)
        budget = self.limits.max_image_pixels_per_file
        if self.pixels + width * height > budget:
            template = (
                "skipped images past {limit:,} decoded pixels in this file "
                "(ingest.max_image_pixels_per_file)"
            )
            return Message.because(template, limit=budget)
        self.images += 1
        self.pixels += width * height
        return None


def image_size(data: bytes) -> tuple[int, int]:
    """An image's size from its header alone, through the allowlisted decoders only.

    Raises:
        IngestError: Not an image in an allowed format.

    """
    try:
        with Image.open(io.BytesIO(data), formats=IMAGE_FORMATS) as probe:
            return probe.size
    except Image.DecompressionBombError as error:  # Pillow's own check, in open()
        template = "image is too large to decode safely ({error})"
        raise IngestError.because(template, error=str(error)) from None
    except (UnidentifiedImageError, OSError, ValueError) as error:
        template = "not a readable image in {formats} ({error})"
        formats = ", ".join(IMAGE_FORMATS)
        raise IngestError.because(template, formats=formats, error=_reason(error)) from None


def _reason(error: Exception) -> str:
    # Pillow names the stream object in some messages; a user needs the words, not a repr.
    text = str(error)
    return text.split(" <_io.")[0] if " <_io." in text else text


def decode_image(data: bytes, limits: Limits) -> Image.Image:
    """Decode untrusted image bytes to a bounded RGB image.

    Raises:
        IngestError: Broken, unsupported or over the pixel limit (``max_image_pixels``).

    """
    image_size(data)  # the allowlist, before any decoder runs
    try:
        return bounded(open_image(data, max_pixels=limits.max_image_pixels))
    except ImageDecodeError as error:
        raise IngestError(str(error)) from None


def embedded_figure(
    data: bytes, captions: tuple[str, ...], page: int | None, budget: ImageBudget
) -> Figure | Message:
    """A figure from an image inside a document, or a note saying why it was skipped.

    One unreadable picture (a WMF chart in a DOCX, a bomb in an HTML page) must not cost the
    document its text, so embedded images fail softly.
    """
    try:
        refused = budget.admit(*image_size(data))
        if refused is not None:
            return refused
        return Figure(decode_image(data, budget.limits), captions=captions, page=page)
    except IngestError as error:
        return Message.because(SKIPPED_IMAGE, error=str(error))


def loaded_from_blocks(blocks: Iterable[Block], budget: ImageBudget) -> Loaded:
    """Segments and figures from assembled blocks, the figures decoded under ``budget``."""
    loaded = Loaded()
    for block in blocks:
        if block.kind != "figure":
            if block.text.strip():
                marks = tuple(Heading(line, level) for line, level in block.headings)
                loaded.blocks.append(Segment(block.text, block.page, block.kind, marks))
            continue
        made = embedded_figure(block.payload, block.captions, block.page, budget)
        if isinstance(made, Figure):
            loaded.blocks.append(made)
        else:
            loaded.notes.append(made)
    return loaded

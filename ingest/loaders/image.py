"""Images: standalone files and images embedded in documents, decoded under the pixel limit.

Decoding goes through :func:`rag.images.open_image`, which reads the header first, so a file
claiming 30000x30000 pixels is refused before any pixel memory is spent; the result is upright
(EXIF orientation applied), RGB, and bounded to :data:`MAX_IMAGE_SIDE`.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from ingest.limits import Limits
from ingest.loaders.base import Figure, Loaded, bounded
from rag.errors import IngestError
from rag.images import ImageDecodeError, decode_base64, open_image


def decode_image(data: bytes, limits: Limits) -> Image.Image:
    """Decode untrusted image bytes to a bounded RGB image.

    Raises:
        IngestError: Broken, unsupported or over the pixel limit (``max_image_pixels``).

    """
    try:
        return bounded(open_image(data, max_pixels=limits.max_image_pixels))
    except ImageDecodeError as error:
        raise IngestError(str(error)) from None


def load_image(path: Path, data: bytes, limits: Limits) -> Loaded:
    """A standalone image file: one figure, named after the file."""
    return Loaded([Figure(decode_image(data, limits), fallback=path.name)])


def embedded_figure(
    data: bytes, captions: tuple[str, ...], page: int | None, limits: Limits
) -> Figure | str:
    """A figure from an image inside a document, or a note saying why it was skipped.

    One unreadable picture (a WMF chart in a DOCX, a bomb in an HTML page) must not cost the
    document its text, so embedded images fail softly.
    """
    try:
        return Figure(decode_image(data, limits), captions=captions, page=page)
    except IngestError as error:
        return f"skipped an embedded image: {error}"


def figure_from_data_url(url: str, captions: tuple[str, ...], limits: Limits) -> Figure | str:
    """A figure from a ``data:image/...;base64,`` URL (never a fetch: other URLs are not read)."""
    header, _, payload = url.partition(",")
    if not header.endswith(";base64"):
        return "skipped an embedded image: data URL is not base64"
    try:
        data = decode_base64("".join(payload.split()))
    except ImageDecodeError as error:
        return f"skipped an embedded image: {error}"
    return embedded_figure(data, captions, None, limits)

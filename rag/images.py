"""Decoding untrusted images safely: an allowlist of decoders, size limits first, then pixels.

``Image.open`` on its own tries every Pillow plugin, including ones that parse complex formats
or hand the file to another program (EPS runs Ghostscript where it is installed). Every image
here is opened with ``formats=`` :data:`ACCEPTED_FORMATS`, the formats people actually send and
documents embed; anything else is refused with its name, found by the plugins' signature checks
alone (a few bytes compared, no parser run). Pillow reads the header before the pixels, so a file
that claims 30000x30000 pixels is rejected before any memory is spent on it. Every image leaves
here upright (EXIF orientation applied) and in RGB, which is what the CLIP image processor
expects. Messages never quote Pillow's object reprs: they name the problem and the way out.

Images reach the model as ``data:image/...;base64,`` URLs (LangChain content blocks, the OpenAI
API); this module is the one place that parses and builds them, and it never fetches a URL.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from rag.errors import BllossomRagError

ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF")
# Callers without settings at hand get the setting's default; callers with settings pass theirs.
DEFAULT_MAX_IMAGE_PIXELS = 50_000_000  # the max_image_pixels setting's default
MAX_IMAGE_BYTES = 20 * 1024 * 1024

_DATA_URL = re.compile(r"^data:(image/[\w.+-]+)?(;[\w=.-]+)*;base64,(?P<data>.*)$", re.DOTALL)
# Pillow names the file object in some messages ("cannot identify image file <_io.BytesIO ...>").
_OBJECT_REPR = re.compile(r"\s*<[\w.]+ object at 0x[0-9a-fA-F]+>")
_ACCEPTED = ", ".join(ACCEPTED_FORMATS)


class ImageDecodeError(BllossomRagError):
    """The bytes are not an image we accept."""


@dataclass(frozen=True)
class ImageHeader:
    """What an image's header says, read without decoding a pixel."""

    format: str
    width: int
    height: int

    @property
    def mime_type(self) -> str:
        """The MIME type of the format (``image/png`` for a PNG)."""
        return Image.MIME.get(self.format, "image/png")


def read_header(data: bytes) -> ImageHeader:
    """The format and size of encoded image bytes (an accepted format), without decoding them.

    Raises:
        ImageDecodeError: Not an image in an accepted format, or a broken header.

    """
    with _opened(data) as image:
        return ImageHeader(image.format or "PNG", *image.size)


def open_image(data: bytes, *, max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS) -> Image.Image:
    """Decode image bytes to an upright RGB image, refusing oversized or broken input.

    Args:
        data: The encoded image (PNG, JPEG, WEBP, GIF, BMP or TIFF).
        max_pixels: The most pixels allowed (``max_image_pixels``), checked before decoding.

    Raises:
        ImageDecodeError: Too many bytes or pixels, another format, or broken data.

    """
    if len(data) > MAX_IMAGE_BYTES:
        msg = f"image is {len(data):,} bytes, over the {MAX_IMAGE_BYTES:,}-byte limit"
        raise ImageDecodeError(msg)
    with _opened(data) as image:
        width, height = image.size
        if width * height > max_pixels:
            msg = (
                f"image is {width}x{height} pixels, over the {max_pixels:,}-pixel limit "
                "(max_image_pixels)"
            )
            raise ImageDecodeError(msg)
        image.load()
        return ImageOps.exif_transpose(image).convert("RGB")


@contextmanager
def _opened(data: bytes) -> Iterator[Image.Image]:
    """The image opened by an accepted decoder (header read, pixels not yet); errors explained."""
    try:
        with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as image:
            yield image
    except ImageDecodeError:
        raise
    except Image.DecompressionBombError as error:  # Pillow's own check, before ours
        msg = f"image is too large to decode safely ({_clean(error)})"
        raise ImageDecodeError(msg) from None
    except UnidentifiedImageError:
        raise ImageDecodeError(_unaccepted(data)) from None
    except (OSError, ValueError, SyntaxError) as error:  # a broken header or truncated pixels
        msg = f"broken image data ({_clean(error)})"
        raise ImageDecodeError(msg) from None


def image_mime(data: bytes) -> str:
    """The MIME type of encoded image bytes, from their content (never from a claimed type).

    Raises:
        ImageDecodeError: Not an image in an accepted format.

    """
    return read_header(data).mime_type


def _unaccepted(data: bytes) -> str:
    """Why bytes that no accepted decoder opened are refused, naming their format if known."""
    prefix = data[:16]  # what Image.open hands each plugin's signature check
    accepted = [name for name in ACCEPTED_FORMATS if _signature_matches(name, prefix)]
    if accepted:
        return f"not a readable image: it starts like {accepted[0]} but cannot be decoded"
    Image.init()  # register every plugin, so its signature check can name the format
    others = [name for name in Image.ID if name not in ACCEPTED_FORMATS]
    other = next((name for name in others if _signature_matches(name, prefix)), None)
    if other is not None:
        return f"not an accepted image format: this is {other}; accepted formats are {_ACCEPTED}"
    return f"not a readable image: not any accepted format ({_ACCEPTED})"


def _signature_matches(name: str, prefix: bytes) -> bool:
    """Whether Pillow's signature check for format ``name`` accepts ``prefix`` (no parsing)."""
    registered = Image.OPEN.get(name)
    accept = registered[1] if registered else None
    return bool(accept and accept(prefix))


def _clean(error: BaseException) -> str:
    """An exception's message without object reprs."""
    return _OBJECT_REPR.sub("", str(error)).strip() or type(error).__name__


def data_url_payload(url: str) -> str:
    """The base64 text of a ``data:image/...;base64,...`` URL, checked without decoding it.

    Raises:
        ImageDecodeError: Any other kind of URL (images are never fetched).

    """
    match = _DATA_URL.match(url.strip())
    if match is None:
        msg = "only data:image/...;base64 URLs are accepted for images (no remote fetches)"
        raise ImageDecodeError(msg)
    return match.group("data")


def data_url_bytes(url: str) -> bytes:
    """The bytes inside a ``data:image/...;base64,...`` URL; any other URL is refused."""
    return decode_base64(data_url_payload(url))


def decode_base64(text: str) -> bytes:
    """Strict base64 decoding with a user-facing error."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        msg = "image data is not valid base64"
        raise ImageDecodeError(msg) from None


def bytes_data_url(data: bytes, mime_type: str = "image/png") -> str:
    """Encoded image bytes as a ``data:`` URL (no re-encoding of the pixels)."""
    return f"data:{mime_type};base64,{base64.b64encode(data).decode()}"


def encode_data_url(image: Image.Image, image_format: str = "PNG") -> str:
    """An image as a base64 data URL (for LangChain content blocks and the OpenAI API)."""
    buffer = io.BytesIO()
    image.save(buffer, format=image_format)
    return bytes_data_url(buffer.getvalue(), Image.MIME.get(image_format.upper(), "image/png"))

"""Decoding untrusted images safely: size limits first, then pixels.

Pillow reads the header before the pixels, so a file that claims 30000x30000 pixels is
rejected before any memory is spent on it. Every image leaves here upright (EXIF orientation
applied) and in RGB, which is what the CLIP image processor expects.
"""

from __future__ import annotations

import base64
import binascii
import io
import re

from PIL import Image, ImageOps, UnidentifiedImageError

from rag.errors import BllossomRagError

# 50 megapixels: a 7000x7000 photo passes, a decompression bomb does not.
MAX_IMAGE_PIXELS = 50_000_000
MAX_IMAGE_BYTES = 20 * 1024 * 1024

_DATA_URL = re.compile(r"^data:(image/[\w.+-]+)?(;[\w=.-]+)*;base64,(?P<data>.*)$", re.DOTALL)


class ImageDecodeError(BllossomRagError):
    """The bytes are not an image we accept."""


def open_image(data: bytes, *, max_pixels: int = MAX_IMAGE_PIXELS) -> Image.Image:
    """Decode image bytes to an upright RGB image, refusing oversized or broken input."""
    if len(data) > MAX_IMAGE_BYTES:
        msg = f"image is {len(data):,} bytes, over the {MAX_IMAGE_BYTES:,}-byte limit"
        raise ImageDecodeError(msg)
    try:
        with Image.open(io.BytesIO(data)) as probe:
            width, height = probe.size
            if width * height > max_pixels:
                msg = f"image is {width}x{height} pixels, over the {max_pixels:,}-pixel limit"
                raise ImageDecodeError(msg)
            probe.load()
            image = ImageOps.exif_transpose(probe).convert("RGB")
    except ImageDecodeError:
        raise
    except Image.DecompressionBombError as error:  # Pillow's check, in open(), runs before ours
        msg = f"image is too large to decode safely ({error})"
        raise ImageDecodeError(msg) from None
    except UnidentifiedImageError as error:
        msg = f"not a readable image ({error})"
        raise ImageDecodeError(msg) from None
    except (OSError, ValueError, SyntaxError) as error:
        msg = f"broken image data ({error})"
        raise ImageDecodeError(msg) from None
    return image


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

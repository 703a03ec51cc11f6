"""Untrusted image bytes: only allowlisted decoders run, limits hold, messages are plain."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image

from devkit.image_bytes import png_claiming
from rag.generation.chat_format import user_image_block
from rag.images import (
    ACCEPTED_FORMATS,
    ImageDecodeError,
    data_url_bytes,
    data_url_payload,
    encode_data_url,
    image_mime,
    open_image,
    read_header,
)

ACCEPTED_LIST = "PNG, JPEG, WEBP, GIF, BMP, TIFF"


def encoded(image_format: str, size: tuple[int, int] = (24, 16)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "orange").save(buffer, format=image_format)
    return buffer.getvalue()


# Formats Pillow reads but we refuse, made by Pillow itself where it can write them.
REFUSED = {
    "EPS": encoded("EPS"),  # decoding it would run Ghostscript
    "ICO": encoded("ICO"),
    "PCX": encoded("PCX"),
    "PPM": encoded("PPM"),
    "JPEG2000": encoded("JPEG2000"),
    "PSD": b"8BPS\x00\x01" + b"\x00" * 64,  # Pillow cannot write PSD; its signature suffices
}


@pytest.mark.parametrize("image_format", ACCEPTED_FORMATS)
def test_every_accepted_format_decodes_upright_rgb(image_format: str):
    data = encoded(image_format)
    image = open_image(data, max_pixels=10_000)
    assert (image.mode, image.size) == ("RGB", (24, 16))
    assert read_header(data).format == image_format
    assert image_mime(data) == Image.MIME[image_format]


@pytest.mark.parametrize("image_format", list(REFUSED))
def test_other_formats_are_refused_by_name_with_the_accepted_list(image_format: str):
    with pytest.raises(ImageDecodeError) as refused:
        open_image(REFUSED[image_format], max_pixels=10_000)
    message = str(refused.value)
    assert message == (
        f"not an accepted image format: this is {image_format}; "
        f"accepted formats are {ACCEPTED_LIST}"
    )


BROKEN = {
    "text": (
        b"hello, not an image",
        f"not a readable image: not any accepted format ({ACCEPTED_LIST})",
    ),
    "broken gif": (
        b"GIF89a broken",
        "not a readable image: it starts like GIF but cannot be decoded",
    ),
    "truncated png": (encoded("PNG", (300, 300))[:120], "broken image data ("),
    "over the limit": (png_claiming(4000, 3000), "image is 4000x3000 pixels, over the 10,000,000"),
    "bomb": (png_claiming(30000, 30000), "image is too large to decode safely (Image size"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_input_gets_a_plain_message_without_object_reprs(case: str):
    data, expected = BROKEN[case]
    with pytest.raises(ImageDecodeError) as refused:
        open_image(data, max_pixels=10_000_000)
    message = str(refused.value)
    assert message.startswith(expected), message
    assert " object at 0x" not in message and "<_io" not in message and "\n" not in message


def test_the_pixel_limit_is_the_callers():
    data = encoded("PNG", (200, 100))
    assert open_image(data, max_pixels=20_000).size == (200, 100)
    with pytest.raises(ImageDecodeError, match="over the 19,999-pixel limit"):
        open_image(data, max_pixels=19_999)
    with pytest.raises(ImageDecodeError, match="over the 19,999-pixel limit"):
        user_image_block(data, max_pixels=19_999)


def test_one_data_url_parser_for_every_caller():
    url = encode_data_url(Image.new("RGB", (4, 4), "red"))
    assert url.startswith("data:image/png;base64,")
    assert open_image(data_url_bytes(url), max_pixels=16).getpixel((0, 0)) == (255, 0, 0)
    assert data_url_payload("data:image/jpeg;name=x.jpg;base64,QUJD") == "QUJD"
    for bad in ("https://example.com/cat.png", "data:text/plain;base64,QUJD", "data:image/png,raw"):
        with pytest.raises(ImageDecodeError, match=re.escape("only data:image/...;base64 URLs")):
            data_url_payload(bad)
    with pytest.raises(ImageDecodeError, match="not valid base64"):
        data_url_bytes("data:image/png;base64,@@@")

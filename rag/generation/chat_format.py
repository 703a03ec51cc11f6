"""LangChain messages -> the Bllossom chat format: role/content dicts plus the images they show.

LangChain carries images as content blocks; LLaVA-NeXT wants one ``<image>`` placeholder in the
text per image, in order, with the pixels passed separately. The in-process chat model, the GPU
worker and the prompt budget all render through :func:`to_chat`, so they build identical
prompts; rendering never decodes an image: it returns the blocks behind the placeholders, in
order, and :func:`decode_image_block` decodes one, so whoever needs the pixels decides when (and
whether) to pay for each. Text is defused on the way in: a literal ``<image>``
or ``<|eot_id|>`` typed by a user or found in a document is text, never a token.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import BaseMessage
from PIL import Image

from rag.errors import BllossomRagError
from rag.generation.prompt import IMAGE_TOKEN, defuse
from rag.images import (
    DEFAULT_MAX_IMAGE_PIXELS,
    ImageDecodeError,
    data_url_bytes,
    decode_base64,
    image_mime,
    open_image,
)

_ROLES = {"system": "system", "human": "user", "ai": "assistant"}
_IMAGE_TYPES = ("image", "image_url")

# An image block and where it is, e.g. "messages[1].content[0]", for messages about it.
PlacedBlock = tuple[str, dict[str, Any]]


def to_chat(messages: Sequence[BaseMessage]) -> tuple[list[dict[str, str]], list[PlacedBlock]]:
    """Template-ready role/content dicts, and the image blocks behind their placeholders.

    Each image block becomes one ``<image>`` placeholder; the blocks come back in the same
    order, undecoded (see :func:`decode_image_block`).

    Raises:
        BllossomRagError: A message type or content block Bllossom cannot take.

    """
    chat: list[dict[str, str]] = []
    blocks: list[PlacedBlock] = []
    for index, message in enumerate(messages):
        role = _ROLES.get(message.type)
        if role is None:
            msg = f"messages[{index}]: unsupported message type {message.type!r} for Bllossom"
            raise BllossomRagError(msg)
        content = _content(message.content, f"messages[{index}]", blocks)
        chat.append({"role": role, "content": content})
    return chat, blocks


def to_chat_text(messages: Sequence[BaseMessage]) -> list[dict[str, str]]:
    """The template-ready dicts alone (what the budget counts; no image is decoded)."""
    return to_chat(messages)[0]


def decode_image_block(placed: PlacedBlock, *, max_pixels: int) -> Image.Image:
    """Decode one image block under the pixel limit.

    Raises:
        ImageDecodeError: Not an acceptable image; the message names the block
            (``messages[1].content[0]: image data is not valid base64``).

    """
    where, block = placed
    try:
        return open_image(image_bytes(block), max_pixels=max_pixels)
    except ImageDecodeError as error:
        msg = f"{where}: {error}"
        raise ImageDecodeError(msg) from None


def _content(content: str | list[Any], where: str, blocks: list[PlacedBlock]) -> str:
    if isinstance(content, str):
        return defuse(content)
    parts: list[str] = []
    for index, block in enumerate(content):
        if isinstance(block, str):
            parts.append(defuse(block))
        elif block.get("type") == "text":
            parts.append(defuse(str(block.get("text", ""))))
        elif block.get("type") in _IMAGE_TYPES:
            blocks.append((f"{where}.content[{index}]", block))
            parts.append(IMAGE_TOKEN + "\n")
        else:
            msg = f"{where}.content[{index}]: unsupported content block type {block.get('type')!r}"
            raise BllossomRagError(msg)
    return "".join(parts)


def image_bytes(block: dict[str, Any]) -> bytes:
    """The encoded image bytes an image block carries (no remote fetches, ever)."""
    if block.get("type") == "image_url":
        url = block.get("image_url")
        text = url.get("url", "") if isinstance(url, dict) else url
        if not isinstance(text, str):
            msg = "image_url.url must be a string"
            raise ImageDecodeError(msg)
        return data_url_bytes(text)
    data = block.get("base64") or (
        block.get("data") if block.get("source_type") == "base64" else None
    )
    if data is not None:
        return decode_base64(str(data))
    if "url" in block:
        return data_url_bytes(str(block["url"]))
    msg = "image block has no base64 data"
    raise ImageDecodeError(msg)


def image_block(data_url: str) -> dict[str, Any]:
    """A LangChain image content block for a data URL."""
    return {"type": "image_url", "image_url": {"url": data_url}}


def user_image_block(
    data: bytes, source: str | None = None, *, max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS
) -> dict[str, Any]:
    """A LangChain v1 image block for image bytes the user gave (``source``: where from).

    The bytes are checked now (format, size limits, decodable), so a bad file fails where it
    was named.
    """
    open_image(data, max_pixels=max_pixels)
    block: dict[str, Any] = {
        "type": "image",
        "base64": base64.b64encode(data).decode(),
        "mime_type": image_mime(data),
    }
    if source is not None:
        block["extras"] = {"source": source}
    return block

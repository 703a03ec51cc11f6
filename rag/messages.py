"""LangChain messages -> the Bllossom chat format: role/content dicts plus images.

LangChain carries images as content blocks; LLaVA-NeXT wants one ``<image>`` placeholder in the
text per image, in order, with the pixels passed separately. The in-process chat model, the GPU
worker and the prompt budget all go through :func:`to_chat` / :func:`to_chat_text`, so they build
identical prompts; the budget uses the text-only variant, which never decodes an image. Text is
defused on the way in: a literal ``<image>`` or ``<|eot_id|>`` typed by a user or found in a
document is text, never a token.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.messages import BaseMessage
from PIL import Image

from rag.errors import BllossomRagError
from rag.images import ImageDecodeError, data_url_bytes, decode_base64, open_image
from rag.prompt import IMAGE_TOKEN, defuse

_ROLES = {"system": "system", "human": "user", "ai": "assistant"}
_IMAGE_TYPES = ("image", "image_url")

# Called for each image block with its position, e.g. "messages[1].content[0]".
_OnImage = Callable[[dict[str, Any], str], None]


def to_chat(messages: Sequence[BaseMessage]) -> tuple[list[dict[str, str]], list[Image.Image]]:
    """Split messages into template-ready dicts and the decoded images their placeholders mean.

    Raises:
        ImageDecodeError: An image block is not an acceptable image; the message names the
            block (``messages[1].content[0]: image data is not valid base64``).

    """
    images: list[Image.Image] = []

    def decode(block: dict[str, Any], where: str) -> None:
        try:
            images.append(image_from_block(block))
        except ImageDecodeError as error:
            msg = f"{where}: {error}"
            raise ImageDecodeError(msg) from None

    return _render(messages, decode), images


def to_chat_text(messages: Sequence[BaseMessage]) -> list[dict[str, str]]:
    """The template-ready dicts alone (placeholders in place, images not decoded)."""
    return _render(messages, lambda _block, _where: None)


def _render(messages: Sequence[BaseMessage], on_image: _OnImage) -> list[dict[str, str]]:
    chat: list[dict[str, str]] = []
    for index, message in enumerate(messages):
        role = _ROLES.get(message.type)
        if role is None:
            msg = f"messages[{index}]: unsupported message type {message.type!r} for Bllossom"
            raise BllossomRagError(msg)
        chat.append(
            {"role": role, "content": _content(message.content, f"messages[{index}]", on_image)}
        )
    return chat


def _content(content: str | list[Any], where: str, on_image: _OnImage) -> str:
    if isinstance(content, str):
        return defuse(content)
    parts: list[str] = []
    for index, block in enumerate(content):
        if isinstance(block, str):
            parts.append(defuse(block))
        elif block.get("type") == "text":
            parts.append(defuse(str(block.get("text", ""))))
        elif block.get("type") in _IMAGE_TYPES:
            on_image(block, f"{where}.content[{index}]")
            parts.append(IMAGE_TOKEN + "\n")
        else:
            msg = f"{where}.content[{index}]: unsupported content block type {block.get('type')!r}"
            raise BllossomRagError(msg)
    return "".join(parts)


def image_from_block(block: dict[str, Any]) -> Image.Image:
    """Decode a LangChain (v1 or legacy) or OpenAI-style image block; URLs must be data URLs."""
    return open_image(image_bytes(block))


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


def user_image_block(data: bytes, source: str | None = None) -> dict[str, Any]:
    """A LangChain v1 image block for image bytes the user gave (``source``: where from).

    The bytes are checked now (size limits, decodable), so a bad file fails where it was named.
    """
    open_image(data)
    block: dict[str, Any] = {
        "type": "image",
        "base64": base64.b64encode(data).decode(),
        "mime_type": image_mime(data),
    }
    if source is not None:
        block["extras"] = {"source": source}
    return block


def image_mime(data: bytes) -> str:
    """The MIME type of encoded image bytes, from their content (never from a claimed type)."""
    try:
        with Image.open(io.BytesIO(data)) as probe:
            return Image.MIME.get(probe.format or "", "image/png")
    except (OSError, ValueError):
        return "image/png"

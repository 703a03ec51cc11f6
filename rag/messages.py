"""LangChain messages -> the Bllossom chat format: role/content dicts plus images.

LangChain carries images as content blocks; LLaVA-NeXT wants one ``<image>`` placeholder in the
text per image, in order, with the pixels passed separately. Both the in-process chat model and
the GPU worker go through :func:`to_chat`, so they build identical prompts. Text is defused on
the way in: a literal ``<image>`` or ``<|eot_id|>`` typed by a user or found in a document is
text, never a token.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import BaseMessage
from PIL import Image

from rag.errors import BllossomRagError
from rag.images import decode_base64, decode_data_url, open_image
from rag.prompt import IMAGE_TOKEN, defuse

_ROLES = {"system": "system", "human": "user", "ai": "assistant"}


def to_chat(messages: Sequence[BaseMessage]) -> tuple[list[dict[str, str]], list[Image.Image]]:
    """Split messages into template-ready dicts and the images their placeholders refer to."""
    chat: list[dict[str, str]] = []
    images: list[Image.Image] = []
    for message in messages:
        role = _ROLES.get(message.type)
        if role is None:
            msg = f"unsupported message type {message.type!r} for Bllossom"
            raise BllossomRagError(msg)
        chat.append({"role": role, "content": _content(message.content, images)})
    return chat, images


def _content(content: str | list[Any], images: list[Image.Image]) -> str:
    if isinstance(content, str):
        return defuse(content)
    parts: list[str] = []
    for block in content:
        if isinstance(block, str):
            parts.append(defuse(block))
        elif block.get("type") == "text":
            parts.append(defuse(str(block.get("text", ""))))
        elif block.get("type") in ("image", "image_url"):
            images.append(image_from_block(block))
            parts.append(IMAGE_TOKEN + "\n")
        else:
            msg = f"unsupported content block type {block.get('type')!r}"
            raise BllossomRagError(msg)
    return "".join(parts)


def image_from_block(block: dict[str, Any]) -> Image.Image:
    """Decode a LangChain (v1 or legacy) or OpenAI-style image block; URLs must be data URLs."""
    if block.get("type") == "image_url":
        url = block.get("image_url")
        return decode_data_url(url.get("url", "") if isinstance(url, dict) else str(url))
    data = block.get("base64") or (
        block.get("data") if block.get("source_type") == "base64" else None
    )
    if data is not None:
        return open_image(decode_base64(str(data)))
    if "url" in block:
        return decode_data_url(str(block["url"]))
    msg = "image block has no base64 data"
    raise BllossomRagError(msg)


def image_block(data_url: str) -> dict[str, Any]:
    """A LangChain image content block for a data URL."""
    return {"type": "image_url", "image_url": {"url": data_url}}

"""Prompt encoding: messages -> the exact model inputs, as local generation and the worker see them.

Rendering goes through :mod:`rag.generation.chat_format` and :mod:`rag.generation.prompt` (the model
card's format, one BOS), then the checkpoint's own processor expands each ``<image>`` and makes the
pixel tensors. The text is tokenized with ``add_special_tokens=False`` because the one BOS is
already in it. Only the processor is needed, so counting a prompt never loads the model. Images are
decoded one at a time, each under the pixel limit, and a caller that gives up (the worker's client
left, or its time ran out) stops the work between them rather than after all of it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from langchain_core.messages import BaseMessage

from rag.generation.chat_format import decode_image_block, to_chat
from rag.generation.prompt import render_chat
from rag.images import DEFAULT_MAX_IMAGE_PIXELS
from rag.runtime.cancel import stop_if_cancelled
from rag.runtime.models import loading, model_reference

# Loaded checkpoints a process keeps (the one in use, and the one before a switch).
SHARED_CHECKPOINTS = 2

if TYPE_CHECKING:
    from PIL import Image


@dataclass(frozen=True)
class EncodedPrompt:
    """A rendered prompt: its text (special tokens included), images and model inputs."""

    text: str
    images: list[Image.Image]
    inputs: Any  # transformers BatchFeature: input_ids, attention_mask, pixel_values, ...

    @property
    def token_count(self) -> int:
        """Prompt length in tokens, each image counted as its expanded image tokens."""
        return int(self.inputs["input_ids"].shape[-1])


def encode_prompt(
    processor: Any,
    messages: Sequence[BaseMessage],
    *,
    max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
    cancel: threading.Event | None = None,
) -> EncodedPrompt:
    """Render messages in the Bllossom format and run the processor on text and images.

    Args:
        processor: A LLaVA-NeXT processor (tokenizer + image processor).
        messages: LangChain messages; image blocks become ``<image>`` slots.
        max_pixels: The most pixels one image may have (``max_image_pixels``).
        cancel: When set (from any thread), encoding stops before its next image or before
            the processor runs.

    Raises:
        ImageDecodeError: An image block is not an acceptable image (the message names it).
        Cancelled: ``cancel`` was set.

    """
    chat, blocks = to_chat(messages)
    images = []
    for placed in blocks:
        stop_if_cancelled(cancel)
        images.append(decode_image_block(placed, max_pixels=max_pixels))
    stop_if_cancelled(cancel)
    text = render_chat(processor.tokenizer, chat)
    inputs = processor(
        text=text,
        images=images or None,
        add_special_tokens=False,  # the one BOS is already in the text
        return_tensors="pt",
    )
    return EncodedPrompt(text=text, images=images, inputs=inputs)


def load_processor(name_or_path: str) -> Any:
    """The generator's processor alone (enough to render and count a prompt).

    Processors are shared per process and checkpoint: they are read-only after loading.
    """
    return _shared_processor(model_reference(name_or_path, "generator"))


@lru_cache(maxsize=SHARED_CHECKPOINTS)
def _shared_processor(reference: str) -> Any:
    # lru_cache keeps results only, so a failed load is retried the next time.
    with loading("generator", reference):
        from transformers import AutoProcessor

        return AutoProcessor.from_pretrained(reference)

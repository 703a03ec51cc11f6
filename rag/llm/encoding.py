"""Prompt encoding: messages -> the exact model inputs, as local generation and the worker see them.

Rendering goes through :mod:`rag.messages` and :mod:`rag.prompt` (the model card's format, one
BOS), then the checkpoint's own processor expands each ``<image>`` and makes the pixel tensors.
The text is tokenized with ``add_special_tokens=False`` because the one BOS is already in it.
Only the processor is needed, so counting a prompt never loads the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_core.messages import BaseMessage

from rag.messages import to_chat
from rag.models import loading, model_reference
from rag.prompt import render_chat

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


def encode_prompt(processor: Any, messages: Sequence[BaseMessage]) -> EncodedPrompt:
    """Render messages in the Bllossom format and run the processor on text and images.

    Args:
        processor: A LLaVA-NeXT processor (tokenizer + image processor).
        messages: LangChain messages; image blocks become ``<image>`` slots.

    """
    chat, images = to_chat(messages)
    text = render_chat(processor.tokenizer, chat)
    inputs = processor(
        text=text,
        images=images or None,
        add_special_tokens=False,  # the one BOS is already in the text
        return_tensors="pt",
    )
    return EncodedPrompt(text=text, images=images, inputs=inputs)


def load_processor(name_or_path: str) -> Any:
    """The generator's processor alone (enough to render and count a prompt)."""
    reference = model_reference(name_or_path, "generator")
    with loading("generator", reference):
        from transformers import AutoProcessor

        return AutoProcessor.from_pretrained(reference)

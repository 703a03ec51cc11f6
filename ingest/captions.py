"""Image captions: what people wrote about an image, and what the generator sees in it.

An image chunk is found by its caption, so the caption is what gets embedded. Human text comes
first and is trusted most: a sidecar ``<image file name>.txt``, alt text, a figure caption, the
text printed around a figure (the loaders collect these). With captioning on, the generator is
shown the image twice, once asked in Korean and once in English, so that questions in either
language meet words in their own language; its answers are appended. The generator is any
LangChain ``BaseChatModel`` (``ChatBllossom`` in-process, or the worker through ``ChatOpenAI``),
the same interface the answer chain uses, and the image goes in as a content block.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage
from langchain_core.runnables import Runnable
from PIL import Image

from ingest.discovery import read_capped
from ingest.extractors.text import decode_text
from ingest.loaders.base import squash
from rag.errors import IngestError
from rag.generation.chat_format import image_block
from rag.images import encode_data_url

SIDECAR_MAX_BYTES = 64 * 1024
MAX_CAPTION_CHARS = 1_000
# The generator sees a copy this size: enough detail for a caption at a fraction of the
# image tokens a full-size image costs.
CAPTION_IMAGE_SIDE = 672

PROMPTS = (
    "이 이미지를 한국어로 한두 문장으로 설명해 주세요. "
    "이미지에 글자나 숫자가 있으면 함께 적어 주세요.",
    "Describe this image in one or two English sentences, including any text or numbers in it.",
)


def read_sidecar(path: Path) -> tuple[bytes, str]:
    """The raw bytes (for change detection) and text of an image's caption file."""
    try:
        data = read_capped(path, SIDECAR_MAX_BYTES)
        return data, squash(decode_text(data))
    except IngestError as error:
        raise IngestError.because(
            "caption file {name}: {error}", name=path.name, error=str(error)
        ) from None


def caption_text(human: Iterable[str], generated: Iterable[str], fallback: str | None) -> str:
    """The text embedded for an image: distinct captions, one per line, or the fallback."""
    lines = [squash(line)[:MAX_CAPTION_CHARS] for line in (*human, *generated)]
    text = "\n".join(dict.fromkeys(line for line in lines if line))
    return text or (fallback or "")


class Captioner:
    """Ask a chat model for a Korean and an English caption of an image.

    Args:
        llm: The generator: a LangChain ``BaseChatModel`` (or one bound with a config).

    """

    def __init__(self, llm: Runnable[Any, BaseMessage]) -> None:
        self.llm = llm

    def caption(self, image: Image.Image) -> list[str]:
        """One caption per prompt (Korean, then English); empty answers are dropped.

        Raises:
            IngestError: The generator failed (the file fails; a rerun retries it).

        """
        small = image.copy()
        small.thumbnail((CAPTION_IMAGE_SIDE, CAPTION_IMAGE_SIDE))
        block = image_block(encode_data_url(small))
        captions = []
        for prompt in PROMPTS:
            message = HumanMessage(content=[block, {"type": "text", "text": prompt}])
            try:
                answer = self.llm.invoke([message])
            except Exception as error:  # any backend: in-process model, HTTP worker, vLLM
                first = str(error).strip().splitlines()[0] if str(error).strip() else ""
                template = "the generator could not caption an image ({error})"
                detail = f"{type(error).__name__}: {first}"
                raise IngestError.because(template, error=detail) from error
            text = squash(answer.text)[:MAX_CAPTION_CHARS]
            if text:
                captions.append(text)
        return captions

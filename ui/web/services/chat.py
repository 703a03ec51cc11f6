"""The Chat page's calls: ask the chain, read the user's image, shape sources and failures."""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.documents import Document
from PIL import Image

from rag.access import Access
from rag.assistant import Assistant
from rag.chain import sources_from_documents
from rag.config import Settings
from rag.errors import BllossomRagError
from rag.images import encode_data_url, open_image
from rag.llm import sampling
from rag.messages import image_block
from ui.web.i18n import t

USER_IMAGE_THUMBNAIL = (256, 256)


@dataclass(frozen=True)
class AskOptions:
    """The chat sidebar's choices."""

    collection: str
    top_k: int
    max_new_tokens: int
    temperature: float
    top_p: float


def read_user_image(data: bytes, max_pixels: int) -> tuple[Image.Image, bytes]:
    """Decode an attached image safely (size limits first); return it and a JPEG thumbnail.

    Args:
        data: The file's bytes as the browser sent them.
        max_pixels: The ``max_image_pixels`` setting: larger images are refused undecoded.

    """
    image = open_image(data, max_pixels=max_pixels)
    small = image.copy()
    small.thumbnail(USER_IMAGE_THUMBNAIL)
    buffer = io.BytesIO()
    small.save(buffer, format="JPEG", quality=85)
    return image, buffer.getvalue()


def ask(
    assistant: Assistant,
    question: str,
    image: Image.Image | None,
    options: AskOptions,
    access: Access,
    callbacks: Sequence[BaseCallbackHandler] = (),
) -> Iterator[dict[str, Any]]:
    """Stream the RAG chain for one question (``documents`` first, then ``answer`` pieces)."""
    llm = assistant.llm.bind(
        **sampling(
            assistant.llm,
            max_tokens=options.max_new_tokens,
            temperature=options.temperature,
            top_p=options.top_p,
        )
    )
    chain = assistant.chain(options.collection, options.top_k, access=access, llm=llm)
    images = [image_block(encode_data_url(image))] if image is not None else []
    return chain.stream(
        {"question": question, "images": images}, config={"callbacks": list(callbacks)}
    )


@dataclass(frozen=True)
class SourceView:
    """One numbered source as the page shows it."""

    number: int
    source: str
    page: int | None
    score: float
    text: str
    thumbnail: str | None  # for image chunks: the stored thumbnail


@dataclass(frozen=True)
class PromptImage:
    """An image that went into the prompt, with its thumbnail's bytes.

    The bytes are read when the answer is made, so the chat history still shows the image after
    its document is removed and the store deletes the file.
    """

    number: int | None  # its citation number, None for the user's own image
    source: str
    thumbnail: bytes


def source_views(documents_: Sequence[Document]) -> list[SourceView]:
    """The chain's citations (``[n]`` = n-th document) with what the page needs to show them."""
    return [
        SourceView(
            number=source.number,
            source=source.source,
            page=source.page,
            score=source.score,
            text=source.text,
            thumbnail=document.metadata.get("thumbnail_path"),
        )
        for source, document in zip(
            sources_from_documents(list(documents_)), documents_, strict=True
        )
    ]


def prompt_images(state: dict[str, Any], user_thumbnail: bytes | None) -> list[PromptImage]:
    """The images the prompt carried: the user's first, then the stored ones the chain listed."""
    shown = [PromptImage(None, "", user_thumbnail)] if user_thumbnail else []
    for item in state.get("images") or ():
        # The chain's own listing has "kind"; the input's LangChain image blocks do not.
        if not isinstance(item, dict) or "kind" not in item or item["kind"] == "user":
            continue
        path = item.get("thumbnail_path") or item.get("image_path")
        try:
            thumbnail = Path(path).read_bytes() if path else None
        except OSError:  # removed with its document since the search
            thumbnail = None
        if thumbnail:
            shown.append(PromptImage(item.get("number"), str(item.get("source", "")), thumbnail))
    return shown


def generation_backend(settings: Settings) -> str:
    """``worker`` or ``in-process``: how answers are generated (for the metrics)."""
    return "worker" if settings.worker_url else "in-process"


def generation_failure(error: Exception, settings: Settings) -> str | None:
    """The message to show when generation fails in a way a user or operator can fix.

    Returns None for anything else: that is a bug and keeps its traceback.
    """
    if isinstance(error, BllossomRagError):
        return t("generation_failed", error=error)
    url = settings.worker_url or ""
    unreachable: tuple[type[Exception], ...] = (ConnectionError, TimeoutError)
    try:
        import openai
    except ImportError:  # no OpenAI client installed, so no worker either
        pass
    else:
        if isinstance(error, openai.APIStatusError):
            reason = t("worker_status", url=url, status=error.status_code, error=error.message)
            return t("generation_failed", error=reason)
        unreachable += (openai.APIConnectionError,)
    if isinstance(error, unreachable):
        reason = t("worker_unreachable", url=url, error=str(error) or type(error).__name__)
        return t("generation_failed", error=reason)
    return None

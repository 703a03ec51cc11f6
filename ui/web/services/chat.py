"""The Chat page's calls: the chain with the conversation, images, sources, failures, ratings."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.documents import Document
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from PIL import Image

from rag.access import Access
from rag.assistant import Assistant
from rag.config import Settings
from rag.errors import BllossomRagError
from rag.evaluation.feedback import Feedback, FeedbackLog
from rag.generation.chat_format import image_block
from rag.generation.llm import sampling
from rag.generation.result import AnswerStream, ImageUse, Source, sources_from_documents
from rag.images import encode_data_url, open_image
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
    history: Sequence[tuple[str, str]] = (),
) -> AnswerStream:
    """The RAG chain on one turn: iterate for the answer's pieces, then read its ``result``.

    Args:
        assistant: The shared assistant.
        question: The user's question.
        image: The user's attached image, decoded.
        options: The sidebar's choices.
        access: The user's reading rights.
        callbacks: LangChain callbacks (the page's timer).
        history: The conversation so far, ``(question, answer)`` pairs, oldest first: the
            question is searched and answered as a follow-up of its latest turns
            (``[conversation]`` limits; the chat box itself stops a question at
            ``max_question_chars``).

    """
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
    earlier: list[BaseMessage] = []
    for asked, answered in history:
        earlier += [HumanMessage(content=asked), AIMessage(content=answered)]
    return AnswerStream(
        chain,
        {"question": question, "images": images, "history": assistant.turn_limits.recent(earlier)},
        config={"callbacks": list(callbacks)},
    )


@dataclass(frozen=True)
class SourceView:
    """One numbered source as the page shows it: the citation, and a thumbnail for images."""

    citation: Source
    thumbnail: str | None  # for image chunks: the stored thumbnail
    document_id: str = ""  # what a saved conversation's share link checks


_HEADING_MARK = re.compile(r"^\s{0,3}#{1,6}\s+", re.MULTILINE)


def plain_snippet(text: str, limit: int) -> str:
    """A passage's text on one line for a caption: Markdown heading marks dropped, cut."""
    snippet = " ".join(_HEADING_MARK.sub("", text).split())
    return snippet if len(snippet) <= limit else snippet[:limit] + "…"


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
            citation,
            document.metadata.get("thumbnail_path"),
            str(document.metadata.get("document_id", "")),
        )
        for citation, document in zip(
            sources_from_documents(list(documents_)), documents_, strict=True
        )
    ]


def prompt_images(images: Sequence[ImageUse], user_thumbnail: bytes | None) -> list[PromptImage]:
    """The images the prompt carried: the user's first, then the stored ones the chain listed."""
    shown = [PromptImage(None, "", user_thumbnail)] if user_thumbnail else []
    for item in images:
        if item.kind == "user":
            continue
        path = item.thumbnail_path or item.image_path
        try:
            thumbnail = Path(path).read_bytes() if path else None
        except OSError:  # removed with its document since the search
            thumbnail = None
        if thumbnail:
            shown.append(PromptImage(item.number, item.source or "", thumbnail))
    return shown


def generation_backend(settings: Settings) -> str:
    """``worker`` or ``in-process``: how answers are generated (for the metrics)."""
    return "worker" if settings.generation.worker_url else "in-process"


def generation_failure(error: Exception, settings: Settings) -> str | None:
    """The message to show when generation fails in a way a user or operator can fix.

    Returns None for anything else: that is a bug and keeps its traceback.
    """
    if isinstance(error, BllossomRagError):
        return t("generation_failed", error=error)
    url = settings.generation.worker_url or ""
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


def record_feedback(
    settings: Settings,
    collection: str,
    question: str,
    history: Sequence[tuple[str, str]],
    answer: str,
    sources: Sequence[SourceView],
    rating: int,
) -> None:
    """Keep a thumbs up (``1``) or down (``-1``) with what was asked, answered and shown."""
    turns = [
        turn
        for asked, answered in history
        for turn in ({"role": "user", "content": asked}, {"role": "assistant", "content": answered})
    ]
    FeedbackLog.in_data_dir(settings.data_dir).record(
        Feedback(
            collection=collection,
            question=question,
            history=tuple(turns),
            answer=answer,
            sources=tuple(view.citation.to_json() for view in sources),
            rating=rating,
        )
    )

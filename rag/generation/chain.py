"""The retrieval-augmented chain, in LCEL over langchain-core.

``{"question": str, "images": [image blocks], "history": [earlier messages]}`` flows through three
steps. The first retrieves: the conversation makes the retrieval ``query``
(:mod:`rag.retrieval.followup`; a first question is searched as it is), and the retriever returns
``documents`` (none for a turn that changed to a topic the documents do not cover:
:mod:`rag.retrieval.topic_change`). The second builds the prompt: the user's images and the top
retrieved image(s) become image slots, the earlier turns come before the question, the token
budget trims what does not fit,
and the step outputs ``documents`` (the passages actually in the prompt, so ``[n]`` in the answer is
``documents[n-1]``), ``images`` (what each image slot is), ``messages``, and the rendered ``prompt``
with its ``prompt_tokens`` (counted once, by the budget). The third adds ``answer``: from the chat
model, as text, or, when nothing was retrieved, the fixed answer of :mod:`rag.generation.no_answer`
without calling the model. Streaming the chain yields everything but the answer first and then the
answer token by token, so a caller can show sources and images before the answer is done. Any
``BaseRetriever`` and any ``BaseChatModel`` (in-process ``ChatBllossom``, or ``ChatOpenAI`` against
the worker or vLLM) plug in unchanged; any other retriever than
:class:`~rag.retrieval.retriever.StoreRetriever` searches a conversation's joined text. What flows
out is a :class:`~rag.generation.result.ChainOutput`; callers here read it as a typed
:class:`~rag.generation.result.ChainResult` through :class:`~rag.generation.result.AnswerStream`.

The user's images arrive as LangChain image content blocks (``{"type": "image", "base64": ...,
"mime_type": ..., "extras": {"source": "/path/photo.jpg"}}``, or an ``image_url`` data URL). A
retrieved image is loaded from its stored copy (``image_path``), never from the original file.
No image goes into a prompt twice: a retrieved copy with the same bytes (sha256) as the user's
image, or as a better-ranked passage's image, is left out and its passage keeps its caption.
"""

from __future__ import annotations

import hashlib
from collections.abc import Set
from operator import itemgetter
from pathlib import Path
from typing import Any

from langchain_core.documents import Document
from langchain_core.output_parsers import StrOutputParser
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import (
    Runnable,
    RunnableBranch,
    RunnableLambda,
    RunnablePassthrough,
)

from rag.errors import BllossomRagError
from rag.generation.budget import PromptBudget
from rag.generation.chat_format import image_block, image_bytes
from rag.generation.no_answer import no_answer
from rag.generation.prompt import PromptImage, build_messages, history_messages
from rag.generation.result import shown_source
from rag.generation.turn_limits import TurnLimits
from rag.images import (
    DEFAULT_MAX_IMAGE_PIXELS,
    ImageDecodeError,
    bytes_data_url,
    image_mime,
    open_image,
    read_header,
)
from rag.retrieval.followup import FollowUps, RetrievalQuery
from rag.retrieval.retriever import StoreRetriever
from rag.runtime.cancel import stop_if_cancelled


class PromptBuilder:
    """Builds the prompt from a question, its passages and the user's images.

    Args:
        budget: Counts and trims the prompt; ``None`` puts everything in uncounted.
        max_images: Image slots in one prompt (the user's images count first).
        max_retrieved_images: Retrieved images shown as images; others appear by caption.
        max_image_pixels: The user's larger images are refused; a larger stored image is shown
            by its caption.

    """

    def __init__(
        self,
        budget: PromptBudget | None = None,
        *,
        max_images: int = 2,
        max_retrieved_images: int = 1,
        max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
    ) -> None:
        self.budget = budget
        self.max_images = max_images
        self.max_retrieved_images = max_retrieved_images
        self.max_image_pixels = max_image_pixels

    def __call__(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """``{"question", "documents", "images"?, "history"?, "query"?}`` -> the prompt.

        The result is a :class:`~rag.generation.result.ChainOutput` but for its ``answer``.

        ``prompt`` is the rendered text (one ``<image>`` per image) and ``prompt_tokens`` its
        length with images expanded, as the budget measured them; both are None without one.
        ``query`` (the retrieval query's text) passes through.

        Raises:
            BllossomRagError: Too many or unreadable user images, or a prompt that cannot fit.

        """
        stop_if_cancelled()
        question: str = inputs["question"]
        documents: list[Document] = list(inputs["documents"])
        user = [user_image(block, self.max_image_pixels) for block in inputs.get("images") or ()]
        if len(user) > self.max_images:
            msg = (
                f"{len(user)} images given, but a prompt holds at most {self.max_images} "
                "(BLLOSSOM_RAG_GENERATION__MAX_IMAGES)"
            )
            raise BllossomRagError(msg)
        user = _distinct(user)
        room = min(self.max_retrieved_images, self.max_images - len(user))
        shown = {image.info["image_sha256"] for image in user}
        images = user + retrieved_images(documents, room, self.max_image_pixels, shown)
        history = history_messages(inputs.get("history") or ())
        prompt: str | None = None
        tokens: int | None = None
        if self.budget is not None:
            fitted = self.budget.fit(question, documents, images, history)
            documents, images, history = fitted.documents, fitted.images, fitted.history
            prompt, tokens = fitted.text, fitted.tokens
        return {
            "question": question,
            "query": inputs.get("query", question),
            "documents": documents,
            "images": [image.describe() for image in images],
            "messages": build_messages(question, documents, images=images, history=history),
            "prompt": prompt,
            "prompt_tokens": tokens,
        }


def user_image(block: dict[str, Any], max_pixels: int) -> PromptImage:
    """The user's image block as an image slot (decoded once, to check it and measure it)."""
    data = image_bytes(block)
    image = open_image(data, max_pixels=max_pixels)
    mime = image_mime(data)  # the real format, whatever the block claims
    source = (block.get("extras") or {}).get("source")
    return PromptImage(
        block=image_block(bytes_data_url(data, mime)),
        width=image.width,
        height=image.height,
        info={
            "source": source,
            "image_sha256": hashlib.sha256(data).hexdigest(),
            "image_path": source,
        },
    )


def retrieved_images(
    documents: list[Document], limit: int, max_pixels: int, shown: Set[str] = frozenset()
) -> list[PromptImage]:
    """Image slots for the best ``limit`` image passages whose stored file can be shown.

    Args:
        documents: Passages, best first (numbered from 1).
        limit: Slots to fill.
        max_pixels: A larger stored image is shown by its caption only.
        shown: sha256 of images already in the prompt (the user's); an image is never put in
            twice, so a passage showing one of them keeps its caption and frees the slot.

    """
    slots: list[PromptImage] = []
    seen = set(shown)
    for number, document in enumerate(documents, start=1):
        if len(slots) >= limit:
            break
        if document.metadata.get("kind") == "image" and document.metadata.get("image_path"):
            slot = _stored_image(number, document, max_pixels)
            if slot is not None and slot.info["image_sha256"] not in seen:
                seen.add(slot.info["image_sha256"])
                slots.append(slot)
    return slots


def _distinct(images: list[PromptImage]) -> list[PromptImage]:
    """The images without repeats of the same bytes (the first one stays)."""
    seen: set[str] = set()
    distinct = []
    for image in images:
        if image.info["image_sha256"] not in seen:
            seen.add(image.info["image_sha256"])
            distinct.append(image)
    return distinct


def _stored_image(number: int, document: Document, max_pixels: int) -> PromptImage | None:
    metadata = document.metadata
    try:
        data = Path(metadata["image_path"]).read_bytes()
        header = read_header(data)
    except (OSError, ImageDecodeError):
        return None  # gone or damaged since ingestion: the caption still stands as the passage
    if header.width * header.height > max_pixels:
        return None  # stored under a laxer limit: its caption stands in for it
    kept = ("page", "image_path", "thumbnail_path")
    info = {key: metadata[key] for key in kept if key in metadata}
    info["source"] = shown_source(metadata)
    info["image_sha256"] = hashlib.sha256(data).hexdigest()  # of what is shown: the file
    return PromptImage(
        block=image_block(bytes_data_url(data, header.mime_type)),
        width=header.width,
        height=header.height,
        number=number,
        info=info,
    )


def build_retrieval(
    retriever: BaseRetriever,
    followups: FollowUps | None = None,
    limits: TurnLimits | None = None,
) -> Runnable[dict[str, Any], dict[str, Any]]:
    """Retrieve for a turn: ``{"question", "history"?, ...}`` plus ``query`` and ``documents``.

    Args:
        retriever: Returns passages for a question; a
            :class:`~rag.retrieval.retriever.StoreRetriever` also takes the conversation's
            weighted turns.
        followups: How the conversation shapes the query (default: ``mix``, no model call).
        limits: What a question and its conversation may hold (default: the defaults of
            ``[conversation]``); a turn over one is refused before any work.

    Raises:
        TurnTooLargeError: The turn is over a limit.
        Cancelled: The work was given up (:mod:`rag.runtime.cancel`).

    """
    make_query = followups or FollowUps()
    bounds = limits or TurnLimits()

    def search(query: RetrievalQuery) -> list[Document]:
        if isinstance(retriever, StoreRetriever):
            return retriever.invoke(query.text, turns=query.turns)
        # other retrievers may pass unknown arguments on to a client that refuses them
        return retriever.invoke(query.text)

    def retrieve(inputs: dict[str, Any]) -> dict[str, Any]:
        question = inputs["question"]
        bounds.check(question, inputs.get("history") or ())
        stop_if_cancelled()
        query = make_query.query(question, inputs.get("history") or ())
        stop_if_cancelled()
        documents = search(query)
        if (
            documents
            and make_query.may_change_topic(question, query)
            and not search(RetrievalQuery.of(question))
        ):
            documents = []  # a new topic the documents do not cover: the rest is stale context
        return {**inputs, "query": query.text, "documents": documents}

    return RunnableLambda(retrieve, name="retrieve")


def _nothing_found(inputs: dict[str, Any]) -> bool:
    return not inputs["documents"]


def build_rag_chain(
    retriever: BaseRetriever,
    llm: Runnable[Any, Any],
    prompt: PromptBuilder | None = None,
    followups: FollowUps | None = None,
    limits: TurnLimits | None = None,
) -> Runnable[dict[str, Any], Any]:
    """Retrieve with the conversation, build the Bllossom prompt, generate (or say none).

    Args:
        retriever: Returns passages (with ``source``/``page``/``score`` metadata, and
            ``kind``/``image_path`` for images) for a question.
        llm: Any LangChain chat model that understands the prompt's messages, or one bound to
            a request's sampling settings (``llm.bind(temperature=...)``).
        prompt: How images are chosen and the budget applied (default: no budget, the user's
            image plus one retrieved image).
        followups: How earlier turns shape the retrieval query (default: ``mix``).
        limits: What a question and its conversation may hold (:func:`build_retrieval`).

    Returns:
        A runnable mapping ``{"question", "images"?, "history"?}`` (``history``: earlier
        LangChain messages, oldest first) to a :class:`~rag.generation.result.ChainOutput`.

    """
    generate = itemgetter("messages") | llm | StrOutputParser()
    answer = RunnableBranch(
        (_nothing_found, RunnableLambda(lambda inputs: no_answer(inputs["question"]))),
        generate,
    )
    return (
        build_retrieval(retriever, followups, limits)
        | RunnableLambda(prompt or PromptBuilder(), name="build_prompt")
        | RunnablePassthrough.assign(answer=answer)
    )

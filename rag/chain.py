"""The retrieval-augmented chain, in LCEL over langchain-core.

``{"question": str, "images": [image blocks]}`` flows through two steps. The first retrieves
``documents`` and builds the prompt: the user's images and the top retrieved image(s) become
image slots, the token budget trims what does not fit, and the step outputs ``documents`` (the
passages actually in the prompt, so ``[n]`` in the answer is ``documents[n-1]``), ``images``
(what each image slot is) and ``messages``. The second adds ``answer`` from the chat model, as
text. Streaming the chain yields everything but the answer first and then the answer token by
token, so a caller can show sources and images before the answer is done. Any
``BaseRetriever`` and any ``BaseChatModel`` (in-process ``ChatBllossom``, or ``ChatOpenAI``
against the worker or vLLM) plug in unchanged.

The user's images arrive as LangChain image content blocks (``{"type": "image", "base64": ...,
"mime_type": ..., "extras": {"source": "/path/photo.jpg"}}``, or an ``image_url`` data URL). A
retrieved image is loaded from its stored copy (``image_path``), never from the original file.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import asdict, dataclass
from operator import itemgetter
from pathlib import Path
from typing import Any

from langchain_core.documents import Document
from langchain_core.output_parsers import StrOutputParser
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableLambda, RunnablePassthrough
from PIL import Image, UnidentifiedImageError

from rag.budget import PromptBudget
from rag.errors import BllossomRagError
from rag.images import open_image
from rag.messages import bytes_data_url, image_block, image_bytes, image_mime
from rag.prompt import PromptImage, build_messages


@dataclass(frozen=True)
class Source:
    """One numbered citation: the passage behind ``[number]`` in the answer."""

    number: int
    id: str
    source: str
    page: int | None
    text: str
    score: float

    def to_json(self) -> dict[str, Any]:
        """The stable ``--json`` shape (``number`` is the position in the list)."""
        data = asdict(self)
        del data["number"]
        return data


def sources_from_documents(documents: list[Document]) -> list[Source]:
    """Citations in prompt order: ``[1]`` is the first document."""
    return [
        Source(
            number=number,
            id=str(document.metadata.get("id", document.id or "")),
            source=str(document.metadata.get("source", "")),
            page=document.metadata.get("page"),
            text=document.page_content,
            score=float(document.metadata.get("score", 0.0)),
        )
        for number, document in enumerate(documents, start=1)
    ]


class PromptBuilder:
    """Builds the prompt from a question, its passages and the user's images.

    Args:
        budget: Counts and trims the prompt; ``None`` puts everything in uncounted.
        max_images: Image slots in one prompt (the user's images count first).
        max_retrieved_images: Retrieved images shown as images; others appear by caption.

    """

    def __init__(
        self,
        budget: PromptBudget | None = None,
        *,
        max_images: int = 2,
        max_retrieved_images: int = 1,
    ) -> None:
        self.budget = budget
        self.max_images = max_images
        self.max_retrieved_images = max_retrieved_images

    def __call__(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """``{"question", "documents", "images"?}`` -> the prompt's documents, images, messages.

        Raises:
            BllossomRagError: Too many or unreadable user images, or a prompt that cannot fit.

        """
        question: str = inputs["question"]
        documents: list[Document] = list(inputs["documents"])
        user = [user_image(block) for block in inputs.get("images") or ()]
        if len(user) > self.max_images:
            msg = (
                f"{len(user)} images given, but a prompt holds at most {self.max_images} "
                "(BLLOSSOM_RAG_MAX_IMAGES)"
            )
            raise BllossomRagError(msg)
        room = min(self.max_retrieved_images, self.max_images - len(user))
        images = user + retrieved_images(documents, room)
        if self.budget is not None:
            fitted = self.budget.fit(question, documents, images)
            documents, images = fitted.documents, fitted.images
        return {
            "question": question,
            "documents": documents,
            "images": [image.describe() for image in images],
            "messages": build_messages(question, documents, images=images),
        }


def user_image(block: dict[str, Any]) -> PromptImage:
    """The user's image block as an image slot (decoded once, to check it and measure it)."""
    data = image_bytes(block)
    image = open_image(data)
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


def retrieved_images(documents: list[Document], limit: int) -> list[PromptImage]:
    """Image slots for the best ``limit`` image passages whose stored file can be read."""
    slots: list[PromptImage] = []
    for number, document in enumerate(documents, start=1):
        if len(slots) >= limit:
            break
        if document.metadata.get("kind") == "image" and document.metadata.get("image_path"):
            slot = _stored_image(number, document)
            if slot is not None:
                slots.append(slot)
    return slots


def _stored_image(number: int, document: Document) -> PromptImage | None:
    metadata = document.metadata
    try:
        data = Path(metadata["image_path"]).read_bytes()
        with Image.open(io.BytesIO(data)) as probe:
            width, height = probe.size
    except (OSError, UnidentifiedImageError):
        return None  # gone or damaged since ingestion: the caption still stands as the passage
    info = {
        key: metadata[key]
        for key in ("source", "page", "image_sha256", "image_path", "thumbnail_path")
        if key in metadata
    }
    return PromptImage(
        block=image_block(bytes_data_url(data, "image/png")),
        width=width,
        height=height,
        number=number,
        info=info,
    )


def build_rag_chain(
    retriever: BaseRetriever, llm: Runnable[Any, Any], prompt: PromptBuilder | None = None
) -> Runnable[dict[str, Any], Any]:
    """Retrieve, build the Bllossom prompt (images and budget included), generate.

    Args:
        retriever: Returns passages (with ``source``/``page``/``score`` metadata, and
            ``kind``/``image_path`` for images) for a question.
        llm: Any LangChain chat model that understands the prompt's messages.
        prompt: How images are chosen and the budget applied (default: no budget, the user's
            image plus one retrieved image).

    Returns:
        A runnable mapping ``{"question", "images"?}`` to ``question``, ``documents``,
        ``images`` (descriptions), ``messages`` and ``answer``.

    """
    prepare = RunnablePassthrough.assign(documents=itemgetter("question") | retriever) | (
        RunnableLambda(prompt or PromptBuilder(), name="build_prompt")
    )
    return prepare | RunnablePassthrough.assign(
        answer=itemgetter("messages") | llm | StrOutputParser()
    )

"""The retrieval-augmented chain, in LCEL over langchain-core.

``{"question": str, "images": [image blocks]}`` flows through three steps, each adding a key:
``documents`` (the retriever), ``messages`` (the Bllossom prompt), ``answer`` (the chat model,
as text). Streaming the chain yields ``documents`` first and then the answer token by token,
so a caller can show sources before the answer is done. Any ``BaseRetriever`` and any
``BaseChatModel`` (in-process ``ChatBllossom``, or ``ChatOpenAI`` against the worker or vLLM)
plug in unchanged.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from operator import itemgetter
from typing import Any

from langchain_core.documents import Document
from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableLambda, RunnablePassthrough

from rag.prompt import build_messages


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


def _messages(inputs: dict[str, Any]) -> list[Any]:
    return build_messages(
        inputs["question"], inputs["documents"], images=inputs.get("images") or ()
    )


def build_rag_chain(retriever: BaseRetriever, llm: BaseChatModel) -> Runnable[dict[str, Any], Any]:
    """Retrieve, build the Bllossom prompt, generate.

    Args:
        retriever: Returns passages (with ``source``/``page``/``score`` metadata) for a question.
        llm: Any LangChain chat model that understands the prompt's messages.

    Returns:
        A runnable mapping ``{"question", "images"?}`` to the same dict plus ``documents``,
        ``messages`` and ``answer``.

    """
    return (
        RunnablePassthrough.assign(documents=itemgetter("question") | retriever)
        .assign(messages=RunnableLambda(_messages))
        .assign(answer=itemgetter("messages") | llm | StrOutputParser())
    )

"""What the chain made of one turn, as typed objects: the answer, its sources, its images.

The chain itself is LCEL and streams mappings (:class:`ChainOutput`: everything but the answer
first, then the answer in pieces), which is what lets any LangChain caller compose and stream it.
Code in this project reads it through :class:`AnswerStream`, which yields the answer's pieces
as they come and keeps the rest as a :class:`ChainResult`, so no caller indexes the mapping by
string keys or assembles the pieces itself.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import PurePath
from typing import Any, Literal, TypedDict

from langchain_core.documents import Document
from langchain_core.messages import BaseMessage
from langchain_core.runnables import Runnable, RunnableConfig

# Relevance in words (:func:`relevance_word`): at least even odds that the passage is on the
# question's subject is high; under one in ten, low.
HIGH_RELEVANCE = 0.5
LOW_RELEVANCE = 0.1
RelevanceWord = Literal["high", "medium", "low"]


def relevance_word(score: float) -> RelevanceWord:
    """A calibrated relevance as people are shown it: ``high``, ``medium`` or ``low``.

    Relevance is a probability fitted against what a collection that does not cover the
    question returns (:mod:`rag.retrieval.relevance`), so every passage clearly on the
    question's subject is near 1 (shown to three decimals, several read 1.000). A word keeps
    what it means and no more.
    """
    if score >= HIGH_RELEVANCE:
        return "high"
    return "medium" if score >= LOW_RELEVANCE else "low"


@dataclass(frozen=True)
class Source:
    """One numbered citation: the passage behind ``[number]`` in the answer.

    Attributes:
        number: Its number in the answer (``[number]``).
        id: The chunk's id (in its collection): what opens it (:mod:`rag.sources`).
        source: The document's path as people are shown it: relative to the folder it was
            ingested from (that folder's name first), never the server's path.
        page: Its page (a PDF page, a slide), when the format has pages.
        text: The passage.
        score: Its calibrated relevance in [0, 1].
        document_id: Its document's id (what opens the original file).
        collection: The collection it was found in.
        kind: ``text``, or ``image`` for an image's caption.
        heading: Its heading path (``규정 > 제3조``), if it has one.
        also_in: Other documents holding the very same passage (``path``, ``page``).

    """

    number: int
    id: str
    source: str
    page: int | None
    text: str
    score: float
    document_id: str = ""
    collection: str = ""
    kind: str = "text"
    heading: str | None = None
    also_in: tuple[Mapping[str, Any], ...] = ()

    @property
    def relevance(self) -> RelevanceWord:
        """:attr:`score` in a word (:func:`relevance_word`)."""
        return relevance_word(self.score)

    def to_json(self) -> dict[str, Any]:
        """The stable ``--json`` shape (``number`` is the position in the list)."""
        data = asdict(self)
        del data["number"]
        data["relevance"] = self.relevance
        data["also_in"] = [dict(copy) for copy in self.also_in]
        return data


def sources_from_documents(documents: list[Document]) -> list[Source]:
    """Citations in prompt order: ``[1]`` is the first document."""
    return [
        Source(
            number=number,
            id=str(document.metadata.get("id", document.id or "")),
            source=shown_source(document.metadata),
            page=document.metadata.get("page"),
            text=document.page_content,
            score=float(document.metadata.get("score", 0.0)),
            document_id=str(document.metadata.get("document_id", "")),
            collection=str(document.metadata.get("collection", "")),
            kind=str(document.metadata.get("kind", "text")),
            heading=document.metadata.get("heading") or None,
            also_in=tuple(document.metadata.get("also_in", ())),
        )
        for number, document in enumerate(documents, start=1)
    ]


def shown_source(metadata: Mapping[str, Any]) -> str:
    """The path people are shown for a passage's document: ``path``, else its file's name."""
    return str(metadata.get("path") or PurePath(str(metadata.get("source", ""))).name)


@dataclass(frozen=True)
class ImageUse:
    """One image slot of the prompt, as a person is shown it.

    Attributes:
        number: The citation number of the passage it belongs to; None for the user's image.
        kind: ``user`` or ``retrieved``.
        source: The file it came from (the user's file, when known).
        page: Its page in that file, for a retrieved image.
        image_path: The stored copy that was put in the prompt.
        thumbnail_path: Its thumbnail, for a retrieved image.
        image_sha256: The bytes' hash.

    """

    number: int | None
    kind: Literal["user", "retrieved"]
    source: str | None = None
    page: int | None = None
    image_path: str | None = None
    thumbnail_path: str | None = None
    image_sha256: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The stable ``--json`` shape (the user's image has no page and no thumbnail)."""
        data = asdict(self)
        if self.kind == "user":
            del data["page"], data["thumbnail_path"]
        return data


class ChainOutput(TypedDict, total=False):
    """The mapping the chain streams and returns (see :func:`rag.generation.chain.build_rag_chain`).

    ``answer`` arrives last, in pieces when streamed; everything else arrives before it.
    """

    question: str
    query: str
    documents: list[Document]
    images: list[ImageUse]
    messages: list[BaseMessage]
    prompt: str | None
    prompt_tokens: int | None
    answer: str


@dataclass
class ChainResult:
    """Everything the chain made of one turn.

    Attributes:
        question: The question as asked.
        query: What was searched for it (the question, or it read with its conversation).
        documents: The passages in the prompt, in citation order: ``[n]`` is ``documents[n-1]``.
        images: The prompt's image slots, the user's first.
        messages: The chat messages the model was given.
        prompt: The rendered prompt, when a token budget measured it.
        prompt_tokens: Its length in tokens, images expanded.
        answer: The answer (the fixed "not in the documents" reply when nothing was found).

    """

    question: str = ""
    query: str = ""
    documents: list[Document] = field(default_factory=list)
    images: list[ImageUse] = field(default_factory=list)
    messages: list[BaseMessage] = field(default_factory=list)
    prompt: str | None = None
    prompt_tokens: int | None = None
    answer: str = ""

    @classmethod
    def of(cls, output: Mapping[str, Any]) -> ChainResult:
        """The result of a whole ``chain.invoke(...)`` (or of a retrieval step alone)."""
        result = cls()
        result.update(output)
        return result

    def update(self, part: Mapping[str, Any]) -> None:
        """Take in one streamed part: the answer's pieces are appended, the rest replaced."""
        for key, value in part.items():
            if key == "answer":
                self.answer += value
            elif key in ChainOutput.__annotations__:
                setattr(self, key, value)

    @property
    def sources(self) -> list[Source]:
        """The numbered citations of :attr:`documents`."""
        return sources_from_documents(self.documents)

    @property
    def document_ids(self) -> list[str]:
        """The ids of the documents whose passages are in the prompt, each once, in order."""
        ids = (str(d.metadata.get("document_id", "")) for d in self.documents)
        return [i for i in dict.fromkeys(ids) if i]

    @property
    def found(self) -> bool:
        """Whether anything was retrieved (else the answer is the fixed one)."""
        return bool(self.documents)


class AnswerStream:
    """The chain run on one turn: iterate for the answer's pieces; :attr:`result` has the rest.

    Args:
        chain: The RAG chain.
        inputs: ``question``, and optionally ``images`` and ``history``.
        config: Callbacks and the like, passed to ``chain.stream``.

    """

    def __init__(
        self,
        chain: Runnable[Any, Any],
        inputs: Mapping[str, Any],
        config: RunnableConfig | None = None,
    ) -> None:
        self._chain = chain
        self._inputs = dict(inputs)
        self._config = config
        self.result = ChainResult(question=str(inputs.get("question", "")))

    def __iter__(self) -> Generator[str, None, None]:
        """The answer's pieces; closing the iterator closes the chain's stream."""
        stream = self._chain.stream(self._inputs, config=self._config)
        try:
            for part in stream:
                self.result.update(part)
                if "answer" in part:
                    yield part["answer"]
        finally:
            close = getattr(stream, "close", None)  # a generator: closing it closes the model's
            if close is not None:
                close()

    def run(self) -> ChainResult:
        """Consume the whole stream and return the result."""
        for _ in self:
            pass
        return self.result

"""Plain records that cross the store's boundary.

They are frozen dataclasses rather than ORM rows so that callers cannot mutate the store by
accident and so that they pickle-free serialize to JSON for the CLI and the UI.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any, Literal

import numpy as np

from rag.text.language import Language

ChunkKind = Literal["text", "image"]
# Where a document's groups came from: an access rule, an explicit setting (``--groups``,
# ``docs access``, an upload's or a push's choice), or nowhere (public by default).
GroupsOrigin = Literal["rule", "flag", "none"]


def searchable_text(heading: str, text: str) -> str:
    """A chunk as keyword search reads it: its heading path's line (when it has one), the text.

    A passage is found by its section's name too (``제42조`` for the article's text).
    """
    return f"{heading}\n{text}" if heading else text


def shown_path(relative_path: str, source_path: str) -> str:
    """A document's path as a person sees it: relative to where it was ingested from.

    Never the server's absolute path: a record without a relative path (one stored before
    they were kept) shows its file's name.
    """
    return relative_path or PurePath(source_path).name


# A question, or its terms with weights (a term that is not a token of the index matches nothing).
KeywordQuery = str | Mapping[str, float]


@dataclass(frozen=True)
class CollectionInfo:
    """A named set of documents searched together, tied to one embedder."""

    name: str
    embedding_model: str
    dimension: int
    created_at: float
    last_seq: int
    documents: int = 0
    chunks: int = 0
    images: int = 0  # image chunks among ``chunks``


@dataclass(frozen=True)
class DocumentRecord:
    """One source file in one collection; ``id`` is stable across re-ingests of the same path."""

    id: str
    collection: str
    source_path: str
    content_sha256: str
    size: int
    mtime: float
    groups: tuple[str, ...] = ()
    ingested_at: float = 0.0
    chunks: int = 0
    # Caller-supplied JSON metadata (the LangChain vector store keeps Document.metadata here).
    metadata: Mapping[str, Any] = field(default_factory=dict)
    groups_origin: GroupsOrigin = "none"
    groups_rule: str | None = None  # the rule's path, when the groups came from a rule
    # The path a person is shown: relative to the folder it was ingested from, that folder's
    # name first (``handbook/leave.md``), or the file's name (an upload, a file named alone).
    relative_path: str = ""

    @property
    def shown_path(self) -> str:
        """The path a person is shown (:func:`shown_path`)."""
        return shown_path(self.relative_path, self.source_path)


@dataclass(frozen=True)
class NewChunk:
    """A chunk ready to be committed: text, position and its embedding."""

    id: str
    ordinal: int
    text: str
    tokens: int
    vector: np.ndarray
    page: int | None = None
    kind: ChunkKind = "text"
    image_sha256: str | None = None
    heading: str = ""  # its heading path, ``법 > 제3장 국회 > 제42조`` (empty: none)

    @property
    def searchable_text(self) -> str:
        """What keyword search and language detection read: the heading path's line, then text."""
        return searchable_text(self.heading, self.text)


@dataclass(frozen=True)
class WordBox:
    """A word printed on a page and where: its box as fractions of the page, from the top left.

    The page is as it is shown (rotation applied), so a box scales to any rendering of it.
    """

    text: str
    left: float
    top: float
    right: float
    bottom: float


@dataclass(frozen=True)
class PageLayout:
    """Where the words of one page are: a PDF's text layer, or what OCR read on a scan."""

    page: int
    words: tuple[WordBox, ...]

    def to_json(self) -> str:
        """The words as compact JSON (``[[text, left, top, right, bottom], ...]``)."""
        rows = [
            [w.text, *(round(v, 4) for v in (w.left, w.top, w.right, w.bottom))] for w in self.words
        ]
        return json.dumps(rows, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, page: int, text: str) -> PageLayout:
        """A layout as :meth:`to_json` wrote it."""
        return cls(page, words_of(json.loads(text)))


def words_of(rows: Sequence[Sequence[Any]]) -> tuple[WordBox, ...]:
    """``[[text, left, top, right, bottom], ...]`` as word boxes.

    Raises:
        TypeError: A row is not a string and four numbers in [0, 1].
        ValueError: The same.

    """
    words = []
    for row in rows:
        text, *box = row
        if not isinstance(text, str) or len(box) != 4:
            raise TypeError
        left, top, right, bottom = (float(v) for v in box)
        if not (0.0 <= left <= right <= 1.0 and 0.0 <= top <= bottom <= 1.0):
            raise ValueError
        words.append(WordBox(text, left, top, right, bottom))
    return tuple(words)


@dataclass(frozen=True)
class DocumentUpdate:
    """A document and the complete new list of its chunks (it replaces the old list).

    ``layouts`` are where its pages' words are (PDFs), which replace the stored ones too.
    """

    document: DocumentRecord
    chunks: list[NewChunk] = field(default_factory=list)
    layouts: tuple[PageLayout, ...] = ()


@dataclass(frozen=True)
class StoredChunk:
    """A committed chunk with the document it came from."""

    id: str
    vector_id: int
    document_id: str
    collection: str
    source_path: str
    ordinal: int
    page: int | None
    kind: ChunkKind
    text: str
    tokens: int
    image_sha256: str | None
    language: Language = "und"  # detected from the searchable text at commit (rag.text.language)
    heading: str = ""  # its heading path (empty: none)
    relative_path: str = ""  # its document's (DocumentRecord.relative_path)

    @property
    def shown_path(self) -> str:
        """The path a person is shown (:func:`shown_path`)."""
        return shown_path(self.relative_path, self.source_path)

    @property
    def searchable_text(self) -> str:
        """What keyword search and a reranker read: the heading path's line, then the text."""
        return searchable_text(self.heading, self.text)


@dataclass(frozen=True)
class SearchHit:
    """A chunk, how well it matched the query, and how relevant it is.

    Attributes:
        chunk: The chunk.
        score: The search's own score (cosine, BM25, fused or the reranker's).
        relevance: Its calibrated relevance in [0, 1] (:mod:`rag.retrieval.relevance`), where known.
        copies: Chunks of other documents with the very same passage, which it stands for.

    """

    chunk: StoredChunk
    score: float
    relevance: float | None = None
    copies: tuple[StoredChunk, ...] = ()


@dataclass(frozen=True)
class CommitRecord:
    """One past write transaction, as the commits table remembers it."""

    seq: int
    collection: str
    started_at: float
    finished_at: float
    added: int
    removed: int


@dataclass(frozen=True)
class CommitHead:
    """Which commit a collection (or a view of it) is at: its number and its random token."""

    seq: int
    token: str


NO_COMMIT = CommitHead(0, "")


@dataclass(frozen=True)
class ReadableVersion:
    """Which version of a collection one reader sees: what a cache of its searches is keyed by.

    How many documents the reader may read, and the newest commit among them. Any change to
    that set changes the pair (a document that becomes readable, new or changed, is written by
    a newer commit; one that stops being readable lowers the count), while commits of documents
    the reader cannot read leave it as it was.
    """

    documents: int
    newest: CommitHead


@dataclass(frozen=True)
class CommitResult:
    """What one write transaction changed."""

    seq: int
    chunks_added: int
    chunks_removed: int
    documents_removed: int


@dataclass(frozen=True)
class Candidates:
    """Readable chunks found by dense or keyword search, each with both scores.

    Attributes:
        dense: Vector id -> inner product with the query (in the search's vector space).
        keyword: Vector id -> BM25 score (0 when no query term matches).
        evidence: Share of the query's keyword weight found in the best BM25 match, in [0, 1].
        coverage: Vector id -> share of the query's keyword weight that chunk contains.
        languages: Vector id -> the chunk's language.

    """

    dense: dict[int, float]
    keyword: dict[int, float]
    evidence: float
    coverage: dict[int, float] = field(default_factory=dict)
    languages: dict[int, Language] = field(default_factory=dict)

"""What every store backend is: the documents, chunks, vectors and images that callers use.

Two backends implement it: the embedded store (:class:`rag.store.Store`: SQLite in
``data_dir`` with FAISS and BM25 views beside it) and the shared one
(:class:`rag.store.postgres.PostgresStore`: PostgreSQL + pgvector, searched in SQL).
:func:`rag.store.open_store` picks one from the settings. Callers (the retriever, the ingest
pipeline, the LangChain vector store, the command line, the web app) see only this interface,
so every command works the same on both. It has two sides: :class:`Documents` (collections,
documents, commits: what ingestion writes and a library lists or removes) and :class:`Search`
(the searches, each with the caller's access inside it); :class:`DocumentStore` is both.

The rules that must not differ between backends live here once, as template methods over a few
abstract reads: how a collection is looked up and what the error says, the embedder check of
:meth:`DocumentStore.ensure_collection`, what :meth:`DocumentStore.find_documents` matches, and
that removing documents also frees their images. What differs (how a commit is written, how
the searches run with the access filter inside them) is abstract.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from rag.access import OPERATOR, PUBLIC, Access
from rag.access.registry import Registry
from rag.conversations.saved import SavedConversations
from rag.embeddings.space import RAW, VectorSpace
from rag.errors import (
    BllossomRagError,
    CollectionNotFoundError,
    DocumentNotFoundError,
    EmbeddingMismatchError,
)
from rag.store.records import (
    Candidates,
    CollectionInfo,
    CommitRecord,
    CommitResult,
    DocumentRecord,
    DocumentUpdate,
    KeywordQuery,
    NewChunk,
    PageLayout,
    ReadableVersion,
    SearchHit,
    StoredChunk,
)
from rag.store.sync_state import SyncState

if TYPE_CHECKING:
    from rag.store.image_files import EncodedImage

# Collection names become folder names: letters (any script), digits, '_', '-', '.'.
_COLLECTION_NAME = re.compile(r"^\w[\w.-]{0,63}$")


def validate_collection_name(name: str) -> str:
    """Return ``name`` if it is a valid collection name, else raise a user-facing error."""
    if not _COLLECTION_NAME.fullmatch(name):
        msg = (
            f"invalid collection name {name!r}: use 1-64 letters, digits, '_', '-' or '.', "
            "starting with a letter or digit"
        )
        raise BllossomRagError(msg)
    return name


class ImageStore(ABC):
    """Content-addressed stored images, each also reachable as a local file.

    Chains and the web app read a retrieved image from a path, so a backend that keeps images
    elsewhere (in the database) serves them through a local cache.
    """

    @abstractmethod
    def put(self, image: Image.Image) -> str:
        """Store an RGB image (and its thumbnail) if new; return its content hash."""

    @abstractmethod
    def save(self, encoded: EncodedImage) -> None:
        """Store an already encoded image (copying between stores) unless it is there."""

    @abstractmethod
    def open(self, sha256: str) -> Image.Image:
        """Load a stored image."""

    @abstractmethod
    def path(self, sha256: str) -> Path:
        """A local file holding the normalized PNG of ``sha256``."""

    @abstractmethod
    def thumbnail_path(self, sha256: str) -> Path:
        """A local file holding its JPEG thumbnail (at most 256x256)."""

    @abstractmethod
    def in_use(self) -> AbstractContextManager[None]:
        """Hold off sweeps while images are stored ahead of the commit that refers to them."""


class Documents(ABC):
    """The write and listing side: collections, documents, their chunks and commits."""

    @abstractmethod
    def close(self) -> None:
        """Release what the store holds (checkpoints, connections)."""

    # --- collections -------------------------------------------------------------------------

    @abstractmethod
    def collections(self, access: Access = OPERATOR) -> list[CollectionInfo]:
        """Every collection, with the counts of the documents ``access`` may read."""

    @abstractmethod
    def _find_collection(self, name: str) -> CollectionInfo | None:
        """The collection (with every document counted), or None."""

    @abstractmethod
    def _create_collection(self, name: str, embedding_model: str, dimension: int) -> None:
        """Create ``name`` unless it exists (the caller checks the embedder)."""

    def collection(self, name: str) -> CollectionInfo:
        """The named collection, or a :class:`CollectionNotFoundError` that says what exists."""
        found = self._find_collection(validate_collection_name(name))
        if found is None:
            existing = ", ".join(c.name for c in self.collections()) or "none yet"
            msg = (
                f"collection {name!r} does not exist (existing: {existing}); "
                f"create it with: bllossom-rag ingest PATH --collection {name}"
            )
            raise CollectionNotFoundError(msg)
        return found

    def ensure_collection(self, name: str, embedding_model: str, dimension: int) -> CollectionInfo:
        """Create the collection if needed and check it was built with this embedder's size."""
        self._create_collection(validate_collection_name(name), embedding_model, dimension)
        info = self.collection(name)
        if info.dimension != dimension:
            msg = (
                f"collection {name!r} was built with {info.embedding_model!r} "
                f"({info.dimension}-d vectors), but the configured embedder makes {dimension}-d "
                "vectors; use the same embedding model or another collection"
            )
            raise EmbeddingMismatchError(msg)
        return info

    @abstractmethod
    def commits(self, limit: int = 20) -> list[CommitRecord]:
        """The newest write transactions (ingests and removals), newest first."""

    @abstractmethod
    def readable_version(self, collection: str, access: Access) -> ReadableVersion:
        """The version of ``collection`` that ``access`` sees: a cache key for its searches.

        Unlike the collection's newest commit, it stays the same across commits of documents
        ``access`` cannot read, so a cache keyed by it tells a reader nothing of those commits.
        """

    # --- documents ---------------------------------------------------------------------------

    @abstractmethod
    def documents(self, collection: str, access: Access = OPERATOR) -> list[DocumentRecord]:
        """The documents of a collection that ``access`` may read (all, by default), by path."""

    @abstractmethod
    def document(self, collection: str, document_id: str) -> DocumentRecord | None:
        """A document by id, or None."""

    @abstractmethod
    def documents_by_path(self, collection: str, source_path: str) -> list[DocumentRecord]:
        """Documents whose source path is exactly ``source_path``."""

    @abstractmethod
    def document_chunks(self, collection: str, document_id: str) -> list[StoredChunk]:
        """The chunks of one document in reading order (none when it does not exist)."""

    @abstractmethod
    def document_vectors(self, collection: str, document_id: str) -> dict[str, np.ndarray]:
        """Chunk id -> stored vector of one document (a changed file reuses its embeddings)."""

    @abstractmethod
    def chunk_vectors(self, collection: str, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Chunk id -> stored vector, for the ids that exist (an answer's check reads them)."""

    @abstractmethod
    def chunk(self, collection: str, chunk_id: str) -> StoredChunk | None:
        """One chunk by id (whoever may read it: the caller checks its document), or None."""

    @abstractmethod
    def page_layouts(
        self, collection: str, document_id: str, page: int | None = None
    ) -> list[PageLayout]:
        """Where the words of a document's pages are (one page's, when ``page`` is given)."""

    def find_documents(self, collection: str, id_or_path: str) -> list[DocumentRecord]:
        """Documents matching an id, an exact source path, or a file or folder on disk."""
        name = self.collection(collection).name
        by_id = self.document(name, id_or_path)
        if by_id is not None:
            return [by_id]
        exact = self.documents_by_path(name, id_or_path)
        if exact:
            return exact
        resolved = str(Path(id_or_path).expanduser().resolve())
        found = [
            d
            for d in self.documents(name)
            if d.source_path == resolved or d.source_path.startswith(resolved.rstrip("/") + "/")
        ]
        if not found:
            msg = f"no document {id_or_path!r} in collection {name!r} (see: bllossom-rag docs list)"
            raise DocumentNotFoundError(msg)
        return found

    # --- writes ------------------------------------------------------------------------------

    @abstractmethod
    def commit(
        self,
        collection: str,
        updates: Sequence[DocumentUpdate] = (),
        removals: Sequence[str] = (),
    ) -> CommitResult:
        """Replace ``updates``' documents and delete ``removals`` in one transaction."""

    def stored_update(self, collection: str, document: DocumentRecord) -> DocumentUpdate:
        """``document`` with the chunks and vectors the store holds for it, ready to commit.

        What a change of a document's record alone (its groups) commits, and what a copy into
        another store writes: nothing is embedded again.
        """
        vectors = self.document_vectors(collection, document.id)
        chunks = [
            NewChunk(
                id=chunk.id,
                ordinal=chunk.ordinal,
                text=chunk.text,
                tokens=chunk.tokens,
                vector=vectors[chunk.id],
                page=chunk.page,
                kind=chunk.kind,
                image_sha256=chunk.image_sha256,
                heading=chunk.heading,
            )
            for chunk in self.document_chunks(collection, document.id)
        ]
        return DocumentUpdate(document, chunks, tuple(self.page_layouts(collection, document.id)))

    def regroup(
        self, collection: str, documents: Sequence[DocumentRecord], groups: Sequence[str]
    ) -> CommitResult:
        """Give documents exactly ``groups`` (empty: everyone), set explicitly, in one commit."""
        chosen = tuple(sorted(set(groups)))
        updates = [
            self.stored_update(collection, replace(d, groups=chosen, groups_origin="flag"))
            for d in documents
        ]
        return self.commit(self.collection(collection).name, updates)

    def remove_documents(self, collection: str, document_ids: Sequence[str]) -> CommitResult:
        """Delete documents, their chunks and the stored images nothing else refers to."""
        result = self.commit(self.collection(collection).name, removals=document_ids)
        self.collect_garbage()
        return result

    @abstractmethod
    def collect_garbage(self) -> int | None:
        """Delete stored images no chunk refers to.

        Returns:
            How many were deleted, or None when an ingest is running (it sweeps at its end).

        """


class Search(ABC):
    """The search side: each search applies the caller's access inside it, never after."""

    @abstractmethod
    def refresh(self, collection: str, space: VectorSpace = RAW) -> None:
        """Bring the collection's search structures up to date (ingestion calls it at its end).

        ``space`` is where its embedder's vectors are compared (:mod:`rag.embeddings.space`).
        """

    @abstractmethod
    def search(
        self,
        collection: str,
        query_vector: np.ndarray,
        k: int,
        access: Access = PUBLIC,
        space: VectorSpace = RAW,
    ) -> list[SearchHit]:
        """The ``k`` readable chunks nearest to ``query_vector`` (normalized) in ``space``."""

    @abstractmethod
    def candidates(
        self,
        collection: str,
        query: KeywordQuery,
        query_vector: np.ndarray,
        n: int,
        access: Access = PUBLIC,
        space: VectorSpace = RAW,
    ) -> Candidates:
        """The ``n`` best readable chunks by dense and by BM25 search, each with both scores.

        A candidate found by one search gets its exact score from the other too (its stored
        vector against the query, in ``space``; its BM25 terms), so fusion compares like with
        like. BM25 statistics (idf, count, average length) are those of what ``access`` may
        read. Each candidate also carries its keyword coverage and its language.
        """

    @abstractmethod
    def chunks_by_vector_ids(self, vector_ids: Sequence[int]) -> dict[int, StoredChunk]:
        """Vector id -> chunk (with its document's path) for the ids that still exist."""

    def hits(self, ranked: Sequence[tuple[int, float]]) -> list[SearchHit]:
        """``(vector id, score)`` pairs as hits with their chunks, in the given order."""
        return ranked_hits(ranked, self.chunks_by_vector_ids([v for v, _ in ranked]))


class DocumentStore(Documents, Search, Registry, SavedConversations, SyncState):
    """Documents, chunks and vectors of every collection, searched with access control inside.

    It also keeps keys, people and the audit trail (:class:`~rag.access.registry.Registry`) and
    each person's saved conversations (:class:`~rag.conversations.SavedConversations`).

    Attributes:
        data_dir: The local folder (the embedded store itself, or a backend's caches).
        images: The stored images.
        store_id: The store's identity, a UUID kept in its database.

    """

    data_dir: Path
    images: ImageStore
    store_id: str

    def __enter__(self) -> DocumentStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def ranked_hits(
    ranked: Sequence[tuple[int, float]], chunks: dict[int, StoredChunk]
) -> list[SearchHit]:
    """Hits in the order of ``ranked``, skipping ids ``chunks`` lacks (removed meanwhile)."""
    return [
        SearchHit(chunk=chunks[vector_id], score=score)
        for vector_id, score in ranked
        if vector_id in chunks
    ]

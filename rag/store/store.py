"""The embedded store: SQLite as the log, a FAISS and a BM25 view per collection.

It implements :class:`rag.store.base.DocumentStore` for one machine, in ``data_dir``.

Writers call :meth:`Store.commit`; readers call :meth:`Store.search` and its kin. Views (dense
and sparse alike, :class:`rag.store.view.View`) load lazily on first use (listing documents
never touches FAISS), follow each commit made through this store, and before each search check
the collection's commit sequence, so that a commit made by another process (the CLI while the
UI runs) becomes visible without a restart. Callers read through the store's methods, never
through its database.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from rag.access import OPERATOR, PUBLIC, Access
from rag.embeddings.space import RAW, VectorSpace
from rag.store.base import DocumentStore, validate_collection_name
from rag.store.conversations import SqlConversations
from rag.store.database import Database
from rag.store.dense_index import DenseIndex, IndexPolicy
from rag.store.full_disk import out_of_space
from rag.store.image_files import ImageFiles
from rag.store.records import (
    Candidates,
    CollectionInfo,
    CommitHead,
    CommitRecord,
    CommitResult,
    DocumentRecord,
    DocumentUpdate,
    KeywordQuery,
    PageLayout,
    ReadableVersion,
    SearchHit,
    StoredChunk,
)
from rag.store.registry import SqlRegistry
from rag.store.sparse_index import SparseIndex
from rag.store.sync_state import SqlSyncState
from rag.store.view import View
from rag.store.visibility import Visible

DATABASE_FILE = "store.sqlite3"
logger = logging.getLogger(__name__)
V = TypeVar("V", bound=View)

__all__ = ["DATABASE_FILE", "Store", "validate_collection_name"]


class Store(SqlRegistry, SqlConversations, SqlSyncState, DocumentStore):
    """Documents, chunks and vectors of every collection under one data folder.

    Args:
        data_dir: The folder; created when missing.
        index_policy: Which FAISS index kind a collection gets at which size.

    """

    def __init__(self, data_dir: Path, index_policy: IndexPolicy | None = None) -> None:
        self.data_dir = Path(data_dir).expanduser()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.database = Database(self.data_dir / DATABASE_FILE)
        self.store_id = self.database.store_id
        self.images: ImageFiles = ImageFiles(self.data_dir / "images")
        self.index_policy = index_policy or IndexPolicy()
        # Loaded views by (kind, collection, variant): every kind follows commits the same way;
        # a dense view's variant is its vector space (one view per space a caller searches in).
        self._views: dict[tuple[type[View], str, str], View] = {}
        self._visible: dict[tuple[str, CommitHead, Access], Visible | None] = {}
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"Store({str(self.data_dir)!r})"

    def _sql_connection(self) -> AbstractContextManager[Any]:
        return self.database.transaction()

    def close(self) -> None:
        """Checkpoint changed views and close the database."""
        self.flush()
        self.database.close()

    # --- collections -------------------------------------------------------------------------

    def collections(self, access: Access = OPERATOR) -> list[CollectionInfo]:
        """Every collection, with the counts of the documents ``access`` may read."""
        return self.database.collections(access)

    def _find_collection(self, name: str) -> CollectionInfo | None:
        return self.database.collection(name)

    def _create_collection(self, name: str, embedding_model: str, dimension: int) -> None:
        self.database.create_collection(name, embedding_model, dimension)

    def commits(self, limit: int = 20) -> list[CommitRecord]:
        """The newest write transactions (ingests and removals), newest first."""
        return self.database.commits(limit)

    def readable_version(self, collection: str, access: Access) -> ReadableVersion:
        """The version of ``collection`` that ``access`` sees: one indexed aggregate."""
        return self.database.readable_version(collection, access)

    # --- documents ---------------------------------------------------------------------------

    def documents(self, collection: str, access: Access = OPERATOR) -> list[DocumentRecord]:
        """The documents of a collection that ``access`` may read (all, by default), by path."""
        return self.database.documents(self.collection(collection).name, access)

    def document(self, collection: str, document_id: str) -> DocumentRecord | None:
        """A document by id, or None."""
        return self.database.document(collection, document_id)

    def documents_by_path(self, collection: str, source_path: str) -> list[DocumentRecord]:
        """Documents whose source path is exactly ``source_path``."""
        return self.database.documents_by_path(collection, source_path)

    def document_chunks(self, collection: str, document_id: str) -> list[StoredChunk]:
        """The chunks of one document in reading order (none when it does not exist)."""
        return self.database.document_chunks(collection, document_id)

    def document_vectors(self, collection: str, document_id: str) -> dict[str, np.ndarray]:
        """Chunk id -> stored vector of one document (a changed file reuses its embeddings)."""
        return self.database.document_vectors(collection, document_id)

    def chunk_vectors(self, collection: str, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Chunk id -> stored vector, for the ids that exist."""
        return self.database.chunk_vectors(collection, chunk_ids)

    def chunk(self, collection: str, chunk_id: str) -> StoredChunk | None:
        """One chunk by id, or None."""
        return self.database.chunk(collection, chunk_id)

    def page_layouts(
        self, collection: str, document_id: str, page: int | None = None
    ) -> list[PageLayout]:
        """Where the words of a document's pages are (one page's, when ``page`` is given)."""
        return self.database.page_layouts(collection, document_id, page)

    # --- writes ------------------------------------------------------------------------------

    def commit(
        self,
        collection: str,
        updates: Sequence[DocumentUpdate] = (),
        removals: Sequence[str] = (),
    ) -> CommitResult:
        """Replace ``updates``' documents and delete ``removals`` in one transaction."""
        with self._lock:
            delta = self.database.commit(collection, updates, removals)
            for (_, name, _), view in self._views.items():
                if name == collection:
                    view.apply(delta)
        return delta.result

    def collect_garbage(self) -> int | None:
        """Delete stored images no chunk refers to (see :class:`ImageFiles`).

        Returns:
            How many were deleted, or None when an ingest is running (it sweeps at its end).

        """
        return self.images.sweep(self.database.image_hashes)

    def refresh(self, collection: str, space: VectorSpace = RAW) -> None:
        """Bring the collection's search views (FAISS in ``space``, BM25) up to date and save them.

        Ingestion calls this at its end with its embedder's space, so the first query after it
        neither rebuilds nor re-tokenizes anything.
        """
        with self._lock:
            self.dense_view(collection, space)
            self.sparse_view(collection)
            self.flush()

    def flush(self) -> None:
        """Checkpoint every view that changed since it was loaded or saved.

        A view that finds the disk full stays in memory, unsaved and still serving, and is
        saved at the next checkpoint with space: a view is a cache that SQLite can rebuild.
        """
        with self._lock:
            for view in self._views.values():
                try:
                    view.checkpoint()
                except (OSError, RuntimeError) as error:  # FAISS's failed writes: RuntimeError
                    if not out_of_space(error, self.data_dir):
                        raise
                    logger.warning("not saving %s: the disk is full (%s)", view.folder, error)

    # --- reads -------------------------------------------------------------------------------

    def dense_view(self, collection: str, space: VectorSpace = RAW) -> DenseIndex:
        """The collection's FAISS view in ``space``, loaded on first use and kept current.

        The raw view keeps the folder it always had (``faiss/<collection>``); a view in another
        space lives in ``faiss-<space id>/<collection>``, so callers in two spaces never
        rebuild each other's checkpoints.
        """
        views = "faiss" if space.id == RAW.id else f"faiss-{space.id}"
        return self._view(
            DenseIndex,
            collection,
            lambda: DenseIndex(
                self.data_dir / views / collection,
                collection,
                self.database,
                self._dimension(collection),
                self.index_policy,
                space,
            ),
            space.id,
        )

    def sparse_view(self, collection: str) -> SparseIndex:
        """The collection's BM25 view, loaded (or built) on first use and kept current."""
        return self._view(
            SparseIndex,
            collection,
            lambda: SparseIndex(self.data_dir / "bm25" / collection, collection, self.database),
        )

    def _view(self, kind: type[V], collection: str, make: Callable[[], V], variant: str = "") -> V:
        """The loaded view of ``kind`` (and ``variant``), caught up; or a new one, opened."""
        with self._lock:
            view = self._views.get((kind, collection, variant))
            if isinstance(view, kind):
                view.catch_up()
                return view
            self._dimension(collection)  # validates the name, says what exists
            made = make()
            made.open()
            self._views[kind, collection, variant] = made
            return made

    def _dimension(self, collection: str) -> int:
        """The collection's vector size, without counting its rows (opening stays O(1))."""
        dimension = self.database.dimension(validate_collection_name(collection))
        if dimension is None:
            self.collection(collection)  # raises, naming the collections that exist
        return int(dimension or 0)

    def visible(self, collection: str, access: Access) -> Visible | None:
        """What ``access`` may read in ``collection``, for the searches; None = everything."""
        with self._lock:
            # by token, not number: a restored database numbers its commits again
            key = (collection, self.database.head(collection), access)
            if key not in self._visible:
                if len(self._visible) > 256:  # stale commits and departed callers
                    self._visible.clear()
                ids = self.database.readable_vector_ids(collection, access)
                self._visible[key] = None if ids is None else Visible.only(ids)
            return self._visible[key]

    def search(
        self,
        collection: str,
        query_vector: np.ndarray,
        k: int,
        access: Access = PUBLIC,
        space: VectorSpace = RAW,
    ) -> list[SearchHit]:
        """The ``k`` readable chunks nearest to ``query_vector``, best first.

        Args:
            collection: The collection to search.
            query_vector: The normalized query embedding, as the embedder returned it.
            k: How many results.
            access: Who is asking; the default sees only unrestricted documents.
            space: Where query and passages are compared (the embedder's, for its collections).

        """
        with self._lock:
            view = self.dense_view(collection, space)
            ranked = view.search(query_vector, k, self.visible(collection, access))
            return self.hits(ranked)

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
        like.
        """
        with self._lock:
            visible = self.visible(collection, access)
            view = self.dense_view(collection, space)
            dense = dict(view.search(query_vector, n, visible))
            match = self.sparse_view(collection).match(query, visible)
            keyword = dict(match.top(n))
            only_keyword = np.array(sorted(keyword.keys() - dense.keys()), dtype=np.int64)
            mapped = space.query_vector(query_vector)
            for ids, matrix in self.database.iter_vectors(collection, only_keyword, view.dimension):
                scores = space.passages(matrix) @ mapped
                dense.update(zip(ids.tolist(), scores.tolist(), strict=True))
            only_dense = np.array(sorted(dense.keys() - keyword.keys()), dtype=np.int64)
            keyword.update(
                zip(only_dense.tolist(), match.scores_of(only_dense).tolist(), strict=True)
            )
            ids = np.array(sorted(dense), dtype=np.int64)
            coverage = dict(zip(ids.tolist(), match.coverage_of(ids).tolist(), strict=True))
            languages = self.database.chunk_languages(ids.tolist())
        return Candidates(dense, keyword, match.evidence, coverage, languages)

    def chunks_by_vector_ids(self, vector_ids: Sequence[int]) -> dict[int, StoredChunk]:
        """Vector id -> chunk (with its document's path) for the ids that still exist."""
        return self.database.chunks_by_vector_ids(vector_ids)

"""The store in PostgreSQL + pgvector, shared by every instance that points at it.

Documents, chunks, vectors, groups, commits and images live in one database
(:mod:`rag.store.postgres.migrations`); ``data_dir`` keeps only a cache of image files. There
are no views: dense search (:mod:`~rag.store.postgres.dense`) and BM25
(:mod:`~rag.store.postgres.keyword`) run in SQL over the committed rows, so a commit made by
any process on any machine is visible to every instance's next query, and nothing needs
rebuilding after a crash.

Each search runs in one read-only ``REPEATABLE READ`` transaction: what the caller may read
(:mod:`~rag.store.postgres.readable`), the searches and the filled-in scores of a hybrid query
all see the same snapshot, so a commit landing half-way can neither widen the access filter
nor mix two versions of a document. Fusion, the retriever and everything above are the
embedded store's, unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import psycopg

from rag.access import OPERATOR, PUBLIC, Access
from rag.embeddings.space import RAW, VectorSpace
from rag.store.base import DocumentStore, ranked_hits
from rag.store.conversations import SqlConversations
from rag.store.dense_index import IndexPolicy
from rag.store.postgres import queries
from rag.store.postgres.commit import write_commit
from rag.store.postgres.connection import connect, open_pool, reachable, redact
from rag.store.postgres.dense import DenseSearch
from rag.store.postgres.images import DatabaseImages
from rag.store.postgres.keyword import PreparedKeywords
from rag.store.postgres.migrations import upgrade
from rag.store.postgres.readable import Readable, Scope, scope
from rag.store.records import (
    Candidates,
    CollectionInfo,
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
from rag.store.sync_state import SqlSyncState

# Raw HNSW neighbours taken per result wanted when a search runs in another vector space.
SPACE_OVERFETCH = 4


class PostgresStore(SqlRegistry, SqlConversations, SqlSyncState, DocumentStore):
    """Every collection in one PostgreSQL database.

    Args:
        url: ``postgresql://user:password@host:port/database`` (libpq's URL form).
        data_dir: The local folder for caches (created when missing).
        index_policy: ``exact_max`` decides when a collection gets its HNSW index,
            ``ef_search`` how widely it is searched, ``exact_filter_max`` when a filtered
            search scans its few readable chunks exactly.
        pool_size: Connections this process may hold.

    Attributes:
        store_id: The database's store id (a UUID).

    Raises:
        StoreError: The server cannot be reached, lacks pgvector 0.8+, or holds a newer schema.

    """

    def __init__(
        self,
        url: str,
        data_dir: Path,
        index_policy: IndexPolicy | None = None,
        pool_size: int = 8,
    ) -> None:
        self.url = url
        self.data_dir = Path(data_dir).expanduser()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.index_policy = index_policy or IndexPolicy()
        with connect(url) as conn, reachable(url):
            self.store_id = upgrade(conn, redact(url))
        self.pool = open_pool(url, pool_size)
        self.images: DatabaseImages = DatabaseImages(
            self.pool, self.data_dir / "cache" / "images", self.store_id
        )

    placeholder = "%s"

    def __repr__(self) -> str:
        return f"PostgresStore({redact(self.url)!r})"

    def _sql_connection(self) -> AbstractContextManager[psycopg.Connection]:
        return self._connection()

    def _atomically(self, conn: psycopg.Connection) -> AbstractContextManager[Any]:
        return conn.transaction()  # the pool's connections commit each statement otherwise

    def close(self) -> None:
        """Close the connections."""
        self.pool.close()

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection]:
        """A pooled autocommit connection; a lost server becomes one :class:`StoreError`."""
        with reachable(self.url), self.pool.connection() as conn:
            yield conn

    @contextmanager
    def _snapshot(self) -> Iterator[psycopg.Connection]:
        """A connection inside a read-only transaction that sees one snapshot throughout."""
        with self._connection() as conn:
            # One statement, not BEGIN then SET TRANSACTION: every search pays each round trip.
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            try:
                yield conn
            finally:
                conn.execute("ROLLBACK")  # it wrote nothing; ending it is all that is left

    # --- collections -------------------------------------------------------------------------

    def collections(self, access: Access = OPERATOR) -> list[CollectionInfo]:
        """Every collection, with the counts of the documents ``access`` may read."""
        with self._connection() as conn:
            return queries.collections(conn, access)

    def _find_collection(self, name: str) -> CollectionInfo | None:
        with self._connection() as conn:
            return next(iter(queries.collections(conn, name=name)), None)

    def _create_collection(self, name: str, embedding_model: str, dimension: int) -> None:
        with self._connection() as conn:
            conn.execute(
                "INSERT INTO collections(name, embedding_model, dimension, created_at) "
                "VALUES (%s, %s, %s, extract(epoch FROM clock_timestamp())) "
                "ON CONFLICT (name) DO NOTHING",
                (name, embedding_model, dimension),
            )

    def commits(self, limit: int = 20) -> list[CommitRecord]:
        """The newest write transactions (ingests and removals), newest first."""
        with self._connection() as conn:
            return queries.commits(conn, limit)

    def readable_version(self, collection: str, access: Access) -> ReadableVersion:
        """The version of ``collection`` that ``access`` sees: one indexed aggregate."""
        with self._connection() as conn:
            return queries.readable_version(conn, collection, access)

    def _dense(self, conn: psycopg.Connection, collection: str) -> DenseSearch:
        """The collection's dense search (raises, naming what exists, when it does not)."""
        row = queries.collection_row(conn, collection)
        if row is None:
            self.collection(collection)  # raises
        assert row is not None
        return DenseSearch(row[0], row[1], self.index_policy)

    # --- documents ---------------------------------------------------------------------------

    def documents(self, collection: str, access: Access = OPERATOR) -> list[DocumentRecord]:
        """The documents of a collection that ``access`` may read (all, by default), by path."""
        name = self.collection(collection).name
        with self._connection() as conn:
            return queries.readable_documents(conn, name, access)

    def document(self, collection: str, document_id: str) -> DocumentRecord | None:
        """A document by id, or None."""
        with self._connection() as conn:
            found = queries.documents(conn, collection, "d.id = %(id)s", {"id": document_id})
        return found[0] if found else None

    def documents_by_path(self, collection: str, source_path: str) -> list[DocumentRecord]:
        """Documents whose source path is exactly ``source_path``."""
        with self._connection() as conn:
            return queries.documents(
                conn, collection, "d.source_path = %(path)s", {"path": source_path}
            )

    def document_chunks(self, collection: str, document_id: str) -> list[StoredChunk]:
        """The chunks of one document in reading order (none when it does not exist)."""
        with self._connection() as conn:
            return queries.chunks(
                conn,
                "col.name = %(collection)s AND c.document_id = %(document)s",
                {"collection": collection, "document": document_id},
            )

    def document_vectors(self, collection: str, document_id: str) -> dict[str, np.ndarray]:
        """Chunk id -> stored vector of one document (a changed file reuses its embeddings)."""
        with self._connection() as conn:
            row = queries.collection_row(conn, collection)
            return {} if row is None else queries.document_vectors(conn, row[0], document_id)

    def chunk_vectors(self, collection: str, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Chunk id -> stored vector, for the ids that exist."""
        with self._connection() as conn:
            return queries.chunk_vectors(conn, collection, chunk_ids)

    def chunk(self, collection: str, chunk_id: str) -> StoredChunk | None:
        """One chunk by id, or None."""
        with self._connection() as conn:
            found = queries.chunks(
                conn,
                "col.name = %(collection)s AND c.id = %(id)s",
                {"collection": collection, "id": chunk_id},
            )
        return found[0] if found else None

    def page_layouts(
        self, collection: str, document_id: str, page: int | None = None
    ) -> list[PageLayout]:
        """Where the words of a document's pages are (one page's, when ``page`` is given)."""
        with self._connection() as conn:
            return queries.page_layouts(conn, collection, document_id, page)

    # --- writes ------------------------------------------------------------------------------

    def commit(
        self,
        collection: str,
        updates: Sequence[DocumentUpdate] = (),
        removals: Sequence[str] = (),
    ) -> CommitResult:
        """Replace ``updates``' documents and delete ``removals`` in one transaction."""
        with self._connection() as conn:
            self._dense(conn, collection)  # it exists (else the error names those that do)
            return write_commit(conn, collection, updates, removals)

    def collect_garbage(self) -> int | None:
        """Delete stored images no chunk refers to (None while an ingest is running)."""
        with reachable(self.url):
            return self.images.sweep()

    def refresh(self, collection: str, space: VectorSpace = RAW) -> None:
        """Give the collection its HNSW index once it is past ``store.index.exact_max`` chunks.

        The index holds raw vectors whatever ``space`` searches use (see :meth:`_nearest`).
        """
        count = self.collection(collection).chunks
        with self._connection() as conn:
            self._dense(conn, collection).ensure_index(conn, count)

    # --- reads -------------------------------------------------------------------------------

    def _scope(self, conn: psycopg.Connection, collection: str, access: Access) -> Scope:
        """The collection and what ``access`` may read in it (raises when it does not exist)."""
        found = scope(conn, collection, access)
        if found is None:
            self.collection(collection)  # raises, naming the collections that exist
        assert found is not None
        return found

    def search(
        self,
        collection: str,
        query_vector: np.ndarray,
        k: int,
        access: Access = PUBLIC,
        space: VectorSpace = RAW,
    ) -> list[SearchHit]:
        """The ``k`` readable chunks nearest to ``query_vector`` (normalized) in ``space``."""
        with self._snapshot() as conn:
            found = self._scope(conn, collection, access)
            search = DenseSearch(found.collection_id, found.dimension, self.index_policy)
            ranked = self._nearest(conn, search, query_vector, k, found.readable, space)
            return self._hits(conn, ranked)

    def _nearest(
        self,
        conn: psycopg.Connection,
        search: DenseSearch,
        query_vector: np.ndarray,
        k: int,
        readable: Readable,
        space: VectorSpace,
    ) -> list[tuple[int, float]]:
        """The ``k`` nearest in ``space``.

        Raw vectors are stored (so a change of calibration needs no rewrite). An exact scan
        computes the space's cosine in SQL; the HNSW graph is built over raw vectors, so a
        search through it takes :data:`SPACE_OVERFETCH` times as many raw neighbours and keeps
        the best by their cosine in the space.
        """
        vector = _vector(query_vector)
        if space.id == RAW.id:
            return search.nearest(conn, vector, k, readable)
        if search.scans_exactly(readable):
            return search.nearest_in_space(conn, vector, k, readable, space)
        raw = search.nearest(conn, vector, k * SPACE_OVERFETCH, readable)
        scores, _ = search.scores_in_space(conn, vector, [v for v, _ in raw], space)
        return sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:k]

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

        Every candidate's dense score is its stored vector against the query in ``space``
        (computed in SQL, the numbers the embedded store computes), and its keyword score,
        coverage and language come from the same snapshot.
        """
        with self._snapshot() as conn:
            found = self._scope(conn, collection, access)
            search = DenseSearch(found.collection_id, found.dimension, self.index_policy)
            nearest = self._nearest(conn, search, query_vector, n, found.readable, space)
            keywords = PreparedKeywords.prepare(conn, found.collection_id, query, found.readable)
            ranked = keywords.ranked(conn, n)
            matched = {v: terms for v, _, terms in ranked}
            keyword = {v: score for v, score, _ in ranked}
            ids = sorted({v for v, _ in nearest} | keyword.keys())
            dense, languages = search.scores_in_space(conn, _vector(query_vector), ids, space)
            only_dense = sorted(dense.keys() - keyword.keys())
            for v, score, terms in keywords.ranked(conn, len(only_dense), among=only_dense):
                keyword[v], matched[v] = score, terms
            keyword.update({v: 0.0 for v in only_dense if v not in keyword})
        coverage = keywords.coverage({v: matched.get(v, []) for v in dense})
        evidence = coverage[ranked[0][0]] if ranked else 0.0
        return Candidates(dense, keyword, evidence, coverage, languages)

    def chunks_by_vector_ids(self, vector_ids: Sequence[int]) -> dict[int, StoredChunk]:
        """Vector id -> chunk (with its document's path) for the ids that still exist."""
        with self._connection() as conn:
            return queries.chunks_by_vector_ids(conn, vector_ids)

    def _hits(self, conn: psycopg.Connection, ranked: list[tuple[int, float]]) -> list[SearchHit]:
        """Hits for ``ranked``, read in the search's own snapshot."""
        return ranked_hits(ranked, queries.chunks_by_vector_ids(conn, [v for v, _ in ranked]))


def _vector(query: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(query, dtype=np.float32).ravel()

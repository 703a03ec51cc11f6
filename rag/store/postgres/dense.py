"""Dense search in SQL: pgvector's inner product, HNSW for large collections, exact for small.

Vectors are unit length, so inner product is cosine; pgvector's ``<#>`` is its negative, which
is what both the exact scan and the HNSW index (``vector_ip_ops``) order by. Collections differ
in vector size, so the column has none and each collection's HNSW index is a partial expression
index, ``(embedding::vector(d)) WHERE collection_id = c``; queries repeat that expression with
the same literals so the planner can use it.

**Exact below a size.** A collection gets its HNSW index when :meth:`DenseSearch.ensure_index`
sees it above ``exact_max`` chunks (ingestion calls it at its end); below, the scan is exact.

**Filters that keep their neighbours.** A plain HNSW scan returns ``ef_search`` candidates and
then stops, so a filter applied to them (the caller's access classes) can return fewer than
``k`` results, silently. Every search therefore sets, for its own transaction only:
``hnsw.iterative_scan = relaxed_order`` (the scan continues until ``k`` rows pass the filter;
the results are re-sorted outside the scan, since relaxed order may be slightly out of order),
``hnsw.ef_search`` to at least ``k``, and ``hnsw.max_scan_tuples`` from the readable share
(about ``4 k / share`` rows, so a caller who reads a tenth of the chunks is not cut off at the
default 20,000). A caller who may read only a few chunks (``exact_filter_max`` or fewer) gets
an exact scan of just those, through the ``(collection_id, class_id)`` index: that is both
exact and cheaper than walking a graph of mostly hidden vectors. The filter is always in the
``WHERE`` of the scan, never applied to its results.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import psycopg
from psycopg import sql

from rag.embeddings.space import VectorSpace
from rag.store.dense_index import IndexPolicy
from rag.store.postgres.readable import Readable
from rag.text.language import Language

logger = logging.getLogger(__name__)
# pgvector's own defaults: a graph of degree 16 built with a candidate list of 64.
HNSW_M, HNSW_EF_CONSTRUCTION = 16, 64
# pgvector's limits for the per-query settings.
_EF_SEARCH_MAX = 1000
_DEFAULT_MAX_SCAN = 20_000


@dataclass(frozen=True)
class DenseSearch:
    """Dense search over one collection.

    Attributes:
        collection_id: The collection's id.
        dimension: Its vector size (part of its index expression).
        policy: ``exact_max`` (chunks up to which the scan is exact), ``exact_filter_max``
            and ``ef_search`` are used (the graph itself has pgvector's default shape).

    """

    collection_id: int
    dimension: int
    policy: IndexPolicy

    @property
    def index_name(self) -> str:
        """The collection's HNSW index."""
        return f"chunks_hnsw_{self.collection_id}"

    def _embedding(self) -> sql.Composable:
        return sql.SQL("embedding::vector({})").format(sql.Literal(self.dimension))

    def nearest(
        self, conn: psycopg.Connection, query: np.ndarray, k: int, readable: Readable
    ) -> list[tuple[int, float]]:
        """The ``k`` readable vector ids nearest to ``query``, best first, with inner products.

        Runs inside the caller's transaction (the settings are transaction-local).
        """
        if k < 1 or readable.chunks == 0:
            return []
        where, params = self._readable(readable)
        params |= {"query": query, "k": k}
        self._configure(conn, k, readable, exact=self._reads_few(readable))
        statement = sql.SQL(
            """
            WITH nearest AS MATERIALIZED (
                SELECT vector_id, {embedding} <#> %(query)s AS distance FROM chunks
                WHERE {where} ORDER BY distance LIMIT %(k)s
            )
            SELECT vector_id, -distance FROM nearest ORDER BY distance, vector_id
            """
        ).format(embedding=self._embedding(), where=where)
        rows = conn.execute(statement, params).fetchall()
        return [(int(vector_id), float(score)) for vector_id, score in rows]

    def _readable(self, readable: Readable) -> tuple[sql.Composable, dict[str, object]]:
        """The condition (and its parameters) for this collection's rows ``readable`` covers."""
        where = sql.SQL("collection_id = {}").format(sql.Literal(self.collection_id))
        if readable.classes is None:
            return where, {}
        condition = sql.SQL("{} AND class_id = ANY(%(classes)s)").format(where)
        return condition, {"classes": readable.classes}

    def scans_exactly(self, readable: Readable) -> bool:
        """Whether a search of this caller scans every readable vector (no HNSW graph in use).

        The index exists once the collection has outgrown ``exact_max``; a caller who reads
        few chunks is scanned exactly even then (see :meth:`nearest`).
        """
        return readable.total <= self.policy.exact_max or self._reads_few(readable)

    def _reads_few(self, readable: Readable) -> bool:
        """A caller who may read ``exact_filter_max`` chunks or fewer: scanned exactly."""
        return readable.classes is not None and readable.chunks <= self.policy.exact_filter_max

    def nearest_in_space(
        self,
        conn: psycopg.Connection,
        query: np.ndarray,
        k: int,
        readable: Readable,
        space: VectorSpace,
    ) -> list[tuple[int, float]]:
        """The ``k`` readable vectors nearest to ``query`` in ``space``, by an exact scan."""
        if k < 1 or readable.chunks == 0:
            return []
        where, params = self._readable(readable)
        rows = self._in_space(conn, query, space, where, params | {"k": k}, "LIMIT %(k)s")
        return [(vector_id, score) for vector_id, score, _ in rows]

    def scores_in_space(
        self,
        conn: psycopg.Connection,
        query: np.ndarray,
        vector_ids: list[int],
        space: VectorSpace,
    ) -> tuple[dict[int, float], dict[int, Language]]:
        """The given chunks' cosines with ``query`` in ``space``, and their languages."""
        where = sql.SQL("vector_id = ANY(%(ids)s)")
        rows = self._in_space(conn, query, space, where, {"ids": vector_ids}, "")
        return {v: score for v, score, _ in rows}, {v: language for v, _, language in rows}

    def _in_space(
        self,
        conn: psycopg.Connection,
        query: np.ndarray,
        space: VectorSpace,
        where: sql.Composable,
        params: dict[str, object],
        limit: str,
    ) -> list[tuple[int, float, Language]]:
        """Rows matching ``where``, best first by their cosine with ``query`` in ``space``.

        The space's passage map is written out in SQL: for a unit vector ``p``, shift ``s`` and unit
        axis ``a``, the mapped passage is ``m / |m|`` with ``m = (p - s) - ((p - s)·a) a``, so its
        cosine with the mapped query ``q`` is ``((p·q - s·q) - (p·a - s·a)(a·q)) / sqrt(1 - 2 p·s +
        s·s - (p·a - s·a)²)``: three inner products per row, the numbers
        :meth:`rag.embeddings.space.VectorSpace.passages` gives up to float rounding, with no mapped
        copy of the vectors stored and none sent back. The raw space is the map with a zero shift
        and axis (the plain inner product).
        """
        mapped = np.ascontiguousarray(space.query_vector(query), dtype=np.float32).ravel()
        zero = np.zeros(self.dimension, dtype=np.float32)
        passage = space.passage
        shift = zero if passage is None else np.asarray(passage.shift, dtype=np.float32)
        axis = zero if passage is None else np.asarray(passage.axis, dtype=np.float32)
        values = {
            **params,
            "query": mapped,
            "shift": shift,
            "axis": axis,
            "sq": float(shift @ mapped),
            "ss": float(shift @ shift),
            "sa": float(shift @ axis),
            "aq": float(axis @ mapped),
        }
        statement = sql.SQL(
            """
            WITH products AS MATERIALIZED (
                SELECT vector_id, language, -({embedding} <#> %(query)s) AS pq,
                       -({embedding} <#> %(shift)s) AS ps, -({embedding} <#> %(axis)s) AS pa
                FROM chunks WHERE {where}
            ), scored AS (
                SELECT vector_id, language,
                       ((pq - %(sq)s) - (pa - %(sa)s) * %(aq)s)
                       / sqrt(greatest(1 - 2 * ps + %(ss)s - (pa - %(sa)s) ^ 2, 1e-12)) AS score
                FROM products
            )
            SELECT vector_id, score, language FROM scored ORDER BY score DESC, vector_id {limit}
            """
        ).format(embedding=self._embedding(), where=where, limit=sql.SQL(limit))
        rows = conn.execute(statement, values).fetchall()
        return [(int(vector_id), float(score), language) for vector_id, score, language in rows]

    def _configure(
        self, conn: psycopg.Connection, k: int, readable: Readable, *, exact: bool
    ) -> None:
        """Planner and HNSW settings for the current transaction only (``set_config``)."""
        if exact:
            # No index scan: the readable rows come through a bitmap scan of chunks_by_class.
            settings = {"enable_indexscan": "off"}
        else:
            share = readable.chunks / max(readable.total, 1)
            max_scan = max(_DEFAULT_MAX_SCAN, math.ceil(4 * k / max(share, 1e-9)))
            settings = {
                # Only the HNSW scan yields rows in distance order; with sorting priced out
                # the planner takes it whenever the index exists, whatever its (possibly
                # stale) row estimates for the filter say. Without the index it still sorts.
                "enable_sort": "off",
                "hnsw.iterative_scan": "relaxed_order",
                "hnsw.ef_search": str(min(_EF_SEARCH_MAX, max(self.policy.ef_search, k))),
                "hnsw.max_scan_tuples": str(min(max_scan, max(readable.total, _DEFAULT_MAX_SCAN))),
            }
        calls = ", ".join(["set_config(%s, %s, true)"] * len(settings))
        conn.execute(f"SELECT {calls}", [item for pair in settings.items() for item in pair])

    def ensure_index(self, conn: psycopg.Connection, count: int) -> bool:
        """Build the collection's HNSW index once it holds more than ``exact_max`` chunks.

        Built ``CONCURRENTLY`` (writers go on meanwhile), by one process at a time (a
        try-lock; the others go on and find it built later); an index left invalid by an
        interrupted build is dropped and built again. ``conn`` must be in autocommit mode.

        Returns:
            True when this call built the index.

        """
        if count <= self.policy.exact_max:
            return False
        lock = conn.execute(
            "SELECT pg_try_advisory_lock(hashtext('bllossom-rag hnsw'), %s)", (self.collection_id,)
        ).fetchone()
        if not lock or not lock[0]:
            return False
        try:
            state = conn.execute(
                "SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = to_regclass(%s)",
                (self.index_name,),
            ).fetchone()
            if state is not None and state[0]:
                return False
            if state is not None:  # an interrupted CONCURRENTLY build
                conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(self.index_name)))
            logger.info("building %s over %d vectors", self.index_name, count)
            conn.execute(
                sql.SQL(
                    "CREATE INDEX CONCURRENTLY {name} ON chunks USING hnsw "
                    "(({embedding}) vector_ip_ops) WITH (m = {m}, ef_construction = {ef}) "
                    "WHERE collection_id = {collection}"
                ).format(
                    name=sql.Identifier(self.index_name),
                    embedding=self._embedding(),
                    m=sql.Literal(HNSW_M),
                    ef=sql.Literal(HNSW_EF_CONSTRUCTION),
                    collection=sql.Literal(self.collection_id),
                )
            )
            return True
        finally:
            conn.execute(
                "SELECT pg_advisory_unlock(hashtext('bllossom-rag hnsw'), %s)",
                (self.collection_id,),
            )

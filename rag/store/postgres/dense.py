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

from rag.language import Language
from rag.space import AffineMap
from rag.store.dense_index import IndexPolicy
from rag.store.postgres.readable import Readable

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
        where = sql.SQL("collection_id = {}").format(sql.Literal(self.collection_id))
        params: dict[str, object] = {"query": query, "k": k}
        exact = False
        if readable.classes is not None:
            where = sql.SQL("{} AND class_id = ANY(%(classes)s)").format(where)
            params["classes"] = readable.classes
            exact = readable.chunks <= self.policy.exact_filter_max
        self._configure(conn, k, readable, exact=exact)
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

    def scans_exactly(self, readable: Readable) -> bool:
        """Whether a search of this caller scans every readable vector (no HNSW graph in use).

        The index exists once the collection has outgrown ``exact_max``; a caller who reads
        few chunks is scanned exactly even then (see :meth:`nearest`).
        """
        small = readable.total <= self.policy.exact_max
        few = readable.classes is not None and readable.chunks <= self.policy.exact_filter_max
        return small or few

    def nearest_in_space(
        self,
        conn: psycopg.Connection,
        query: np.ndarray,
        k: int,
        readable: Readable,
        space: AffineMap,
    ) -> list[tuple[int, float]]:
        """The ``k`` readable vectors nearest to ``query`` (mapped already) in a vector space.

        An exact scan with the space's passage map written out in SQL: for a unit vector ``p``,
        shift ``s`` and unit axis ``a``, the mapped passage is ``m / |m|`` with
        ``m = (p - s) - ((p - s)·a) a``, so its cosine with the mapped query ``q`` is
        ``((p·q - s·q) - (p·a - s·a)(a·q)) / sqrt(1 - 2 p·s + s·s - (p·a - s·a)²)``: three
        inner products per row, the same numbers :meth:`rag.space.VectorSpace.passages` gives
        up to float rounding, with no mapped copy of the vectors stored.
        """
        if k < 1 or readable.chunks == 0:
            return []
        shift = np.asarray(space.shift, dtype=np.float32)
        axis = np.asarray(space.axis, dtype=np.float32)
        where = sql.SQL("collection_id = {}").format(sql.Literal(self.collection_id))
        params: dict[str, object] = {
            "query": query,
            "shift": shift,
            "axis": axis,
            "sq": float(shift @ query),
            "ss": float(shift @ shift),
            "sa": float(shift @ axis),
            "aq": float(axis @ query),
            "k": k,
        }
        if readable.classes is not None:
            where = sql.SQL("{} AND class_id = ANY(%(classes)s)").format(where)
            params["classes"] = readable.classes
        statement = sql.SQL(
            """
            WITH products AS MATERIALIZED (
                SELECT vector_id, -({embedding} <#> %(query)s) AS pq,
                       -({embedding} <#> %(shift)s) AS ps, -({embedding} <#> %(axis)s) AS pa
                FROM chunks WHERE {where}
            ), scored AS (
                SELECT vector_id,
                       ((pq - %(sq)s) - (pa - %(sa)s) * %(aq)s)
                       / sqrt(greatest(1 - 2 * ps + %(ss)s - (pa - %(sa)s) ^ 2, 1e-12)) AS score
                FROM products
            )
            SELECT vector_id, score FROM scored ORDER BY score DESC, vector_id LIMIT %(k)s
            """
        ).format(embedding=self._embedding(), where=where)
        rows = conn.execute(statement, params).fetchall()
        return [(int(vector_id), float(score)) for vector_id, score in rows]

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

    def vectors(
        self, conn: psycopg.Connection, vector_ids: list[int]
    ) -> tuple[np.ndarray, np.ndarray, dict[int, Language]]:
        """The given chunks' stored vectors (ids, ``(n, dimension)``) and their languages."""
        rows = conn.execute(
            "SELECT vector_id, embedding, language FROM chunks WHERE vector_id = ANY(%s) "
            "ORDER BY vector_id",
            (vector_ids,),
            binary=True,  # vectors straight into numpy (the binary loader)
        ).fetchall()
        ids = np.array([int(row[0]) for row in rows], dtype=np.int64)
        matrix = np.array([row[1] for row in rows], dtype=np.float32).reshape(-1, self.dimension)
        return ids, matrix, {int(row[0]): row[2] for row in rows}

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

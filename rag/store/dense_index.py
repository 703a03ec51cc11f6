"""The FAISS view of one collection: fast to search, cheap to lose, sized to the collection.

SQLite holds every vector; this index is a cache of them that follows the commit sequence like
every view (:mod:`rag.store.view`: load, catch up by vector-id difference, apply, checkpoint).
Checkpoints are FAISS's own binary format, published atomically: nothing is unpickled. A loaded
checkpoint is trusted only after its layout, metric and size match its manifest and a sample of
its vectors equals the SQLite rows of the same ids (which catches a file whose ids were
shuffled); anything else is rebuilt from the rows.

The index kind follows the collection's size (:class:`IndexPolicy`). Up to ``exact_max`` chunks
(50k) an exact inner-product scan is both the most accurate and fast enough: it is bound by
memory bandwidth, about 16 ms per 100k 384-d vectors on one core here. Above it an approximate
index takes over: IVF-Flat by default (exact scores within the
probed lists, supports removal, recall close to exact at ``nprobe`` 32), IVF-PQ when memory
matters more than accuracy, or HNSW (fastest queries, but FAISS cannot remove from it, so a
delete rebuilds it). Crossing the threshold (with hysteresis) or outgrowing an IVF's training
rebuilds the view once from SQLite.

The view holds vectors in a :class:`rag.embeddings.space.VectorSpace` (raw by default): the rows of
SQLite mapped by the space, and queries mapped the same way by :meth:`DenseIndex.search`, so stored
and query vectors can never be compared across spaces. The manifest records the space; a checkpoint
of another one is rebuilt.

Access control is a FAISS ``IDSelector`` passed into the search (:class:`Visible`). When an
approximate index meets a very selective filter, few readable vectors may sit in the probed
lists or graph neighbourhoods; then the readable vectors are scored exactly from SQLite instead.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import faiss
import numpy as np

from rag.embeddings.space import RAW, VectorSpace
from rag.runtime.threads import single_thread
from rag.store.checkpoint import UnusableCheckpointError, expect, whole_number
from rag.store.commit import CommitDelta
from rag.store.database import Database
from rag.store.view import View
from rag.store.visibility import Visible

logger = logging.getLogger(__name__)

IndexKind = Literal["flat", "ivf-flat", "ivf-pq", "hnsw"]
# Below this an approximate index has nothing to gain (and IVF too little to train on).
MIN_APPROXIMATE = 1_000
# Vectors of a loaded checkpoint compared with SQLite before it is trusted.
_VERIFY_SAMPLE = 16


@dataclass(frozen=True)
class IndexPolicy:
    """Which FAISS index a collection gets, by size.

    Attributes:
        exact_max: Up to this many chunks: exact search.
        large_kind: Above it: ``ivf-flat``, ``ivf-pq`` or ``hnsw``.
        nprobe: IVF lists visited per query.
        hnsw_m: HNSW graph degree.
        ef_search: HNSW search breadth.
        exact_filter_max: A caller who may read at most this many chunks of a collection with
            an approximate index gets an exact scan of just those.

    """

    exact_max: int = 50_000
    large_kind: IndexKind = "ivf-flat"
    nprobe: int = 32
    hnsw_m: int = 32
    ef_search: int = 128
    exact_filter_max: int = 20_000

    def kind_for(self, count: int, current: str) -> str:
        """The kind for ``count`` chunks; shrinking back to exact waits until half the limit."""
        if count < MIN_APPROXIMATE:
            return "flat"
        if count > self.exact_max:
            return self.large_kind
        if current != "flat" and count > self.exact_max // 2:
            return current
        return "flat"


def _kind_of(index: faiss.Index) -> str | None:
    """Which of our layouts a loaded index has (None: none of them)."""
    if index.metric_type != faiss.METRIC_INNER_PRODUCT:
        return None
    if isinstance(index, faiss.IndexIDMap2):
        inner = faiss.downcast_index(index.index)
        if isinstance(inner, faiss.IndexHNSWFlat):
            return "hnsw"
        return "flat" if isinstance(inner, faiss.IndexFlat) else None
    if isinstance(index, faiss.IndexIVFPQ):
        return "ivf-pq"
    return "ivf-flat" if isinstance(index, faiss.IndexIVFFlat) else None


def _nlist(count: int) -> int:
    # sqrt(n) lists of sqrt(n) vectors; at least 39 training points per list, FAISS's minimum.
    return int(max(1, min(65536, round(math.sqrt(count)), count // 39)))


class DenseIndex(View):
    """Inner-product search over normalized vectors, with SQLite vector ids as FAISS ids.

    Args:
        folder: This collection's folder for checkpoints.
        collection: The collection it indexes.
        database: Where the vectors come from.
        dimension: Vector size; a checkpoint of another size is discarded.
        policy: Which index kind to use at which size.
        space: Where vectors are compared (stored rows and queries are mapped into it).

    """

    FORMAT = 2

    def __init__(
        self,
        folder: Path,
        collection: str,
        database: Database,
        dimension: int,
        policy: IndexPolicy | None = None,
        space: VectorSpace = RAW,
    ) -> None:
        super().__init__(folder, collection, database)
        self.dimension = dimension
        self.policy = policy or IndexPolicy()
        self.space = space
        self.kind = "flat"
        self.trained_on = 0  # chunks the IVF quantizer was trained for
        self._index: faiss.Index = self._empty("flat")

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def _empty(self, kind: str) -> faiss.Index:
        if kind in ("ivf-flat", "ivf-pq"):
            # IVF keeps our ids natively (an IDMap around IVF breaks on removal).
            code = "Flat" if kind == "ivf-flat" else f"PQ{max(1, self.dimension // 8)}x8"
            return faiss.index_factory(
                self.dimension, f"IVF{_nlist(self.trained_on)},{code}", faiss.METRIC_INNER_PRODUCT
            )
        if kind == "hnsw":
            inner = faiss.IndexHNSWFlat(
                self.dimension, self.policy.hnsw_m, faiss.METRIC_INNER_PRODUCT
            )
            return faiss.IndexIDMap2(inner)
        return faiss.IndexIDMap2(faiss.IndexFlatIP(self.dimension))

    def _read(self, manifest: Mapping[str, Any], seq: int) -> None:
        expect(manifest, "dimension", self.dimension)
        if manifest.get("space", RAW.id) != self.space.id:  # views saved before spaces are raw
            msg = f"the index was built in space {manifest.get('space')!r}, not {self.space.id!r}"
            raise UnusableCheckpointError(msg)
        name = f"index.{seq}.faiss"
        expect(manifest, "file", name)
        kind, trained_on = manifest.get("kind"), whole_number(manifest, "trained_on")
        index = faiss.read_index(str(self.folder / name))
        if _kind_of(index) != kind or index.d != self.dimension:
            msg = f"the file is not a {self.dimension}-d {kind} index"
            raise UnusableCheckpointError(msg)
        self._index, self.kind, self.trained_on = index, str(kind), trained_on
        self._verify()

    def _verify(self) -> None:
        """Check a loaded index against SQLite: unique ids, and sampled vectors are theirs.

        A view whose ids were shuffled (a damaged or hand-edited file) would pass every size
        check and serve the wrong passages; comparing a few of its vectors with the rows of
        the same ids catches that for the cost of a few lookups.
        """
        ids = np.sort(self.ids())
        if len(ids) and (ids[0] < 1 or bool(np.any(ids[1:] == ids[:-1]))):
            msg = "the index holds repeated or invalid ids"
            raise UnusableCheckpointError(msg)
        picks = np.unique(np.linspace(0, len(ids) - 1, min(len(ids), _VERIFY_SAMPLE)).astype(int))
        sample = ids[picks] if len(ids) else ids
        for found, rows in self.database.iter_vectors(self.collection, sample, self.dimension):
            held, stored = self._reconstruct(found), self.space.passages(rows)
            if self.kind == "ivf-pq":  # lossy codes: each must be nearest its own row
                similarity = held @ stored.T
                matches = similarity.diagonal() >= similarity.max(axis=1) - 1e-4
            else:
                matches = np.isclose(held, stored, atol=1e-4).all(axis=1)
            if not matches.all():
                msg = "its vectors do not match the stored ones under the same ids"
                raise UnusableCheckpointError(msg)

    def _reconstruct(self, ids: np.ndarray) -> np.ndarray:
        """The vectors the index holds under ``ids`` (all present)."""
        if not isinstance(self._index, faiss.IndexIVF):
            return np.vstack([self._index.reconstruct(int(i)) for i in ids])
        # IVF finds a vector by id only through a direct map; drop it after (it slows adds).
        self._index.set_direct_map_type(faiss.DirectMap.Hashtable)
        try:
            return np.vstack([self._index.reconstruct(int(i)) for i in ids])
        finally:
            self._index.set_direct_map_type(faiss.DirectMap.NoMap)

    def _clear(self) -> None:
        self.kind, self.trained_on = "flat", 0
        self._index = self._empty("flat")

    def _files(self) -> tuple[dict[str, Callable[[str], object]], dict[str, Any]]:
        name = f"index.{self.head.seq}.faiss"
        manifest = {
            "dimension": self.dimension,
            "space": self.space.id,
            "kind": self.kind,
            "trained_on": self.trained_on,
            "file": name,
        }
        return {name: lambda tmp: faiss.write_index(self._index, tmp)}, manifest

    # --- keeping up with SQLite --------------------------------------------------------------

    def ids(self) -> np.ndarray:
        """Every vector id the index holds."""
        if isinstance(self._index, faiss.IndexIVF):
            lists = self._index.invlists
            parts = [
                faiss.rev_swig_ptr(lists.get_ids(i), lists.list_size(i)).copy()
                for i in range(self._index.nlist)
                if lists.list_size(i)
            ]
            return np.concatenate(parts) if parts else np.empty(0, np.int64)
        return faiss.vector_to_array(self._index.id_map).astype(np.int64)

    def _follow(self, stale: np.ndarray, missing: np.ndarray, *, fresh: bool) -> None:
        count = len(self) - len(stale) + len(missing)
        if self._fit(count, removing=len(stale)):
            return
        self.remove(stale)
        which = None if fresh else missing
        for ids, matrix in self.database.iter_vectors(self.collection, which, self.dimension):
            self.add(ids, matrix)

    def _apply(self, delta: CommitDelta) -> None:
        # The commit carries its vectors: nothing to read back.
        count = len(self) - len(delta.removed_ids) + len(delta.added_ids)
        if self._fit(count, removing=len(delta.removed_ids)):
            return
        self.remove(delta.removed_ids)
        self.add(delta.added_ids, delta.added_vectors)

    def _fit(self, count: int, removing: int) -> bool:
        """Rebuild from SQLite if ``count`` chunks call for another index; True if rebuilt.

        A rebuild reads what SQLite holds now, so it already reflects the change at hand.
        """
        kind = self.policy.kind_for(count, self.kind)
        outgrown = kind.startswith("ivf") and count > 4 * max(self.trained_on, 1)
        # FAISS cannot delete from an HNSW graph: a delete rebuilds it without those vectors.
        undeletable = self.kind == "hnsw" and removing > 0
        if kind == self.kind and not outgrown and not undeletable:
            return False
        self._rebuild(kind)
        return True

    def _rebuild(self, kind: str) -> None:
        count = len(self.database.vector_ids(self.collection))
        logger.info("building a %s index of %d vectors for %s", kind, count, self.folder)
        self.kind, self.trained_on = kind, count
        self._index = self._empty(kind)
        if isinstance(self._index, faiss.IndexIVF):
            self._train()
        for ids, matrix in self.database.iter_vectors(self.collection, None, self.dimension):
            self.add(ids, matrix)

    def _train(self) -> None:
        ids = self.database.vector_ids(self.collection)
        # ~64 points per list is plenty for k-means on embeddings, and keeps training seconds.
        sample_size = min(len(ids), 64 * self._index.nlist)
        sample = np.sort(np.random.default_rng(0).choice(ids, sample_size, replace=False))
        matrix = np.vstack(
            [m for _, m in self.database.iter_vectors(self.collection, sample, self.dimension)]
        )
        self._index.train(self.space.passages(matrix))

    def add(self, ids: np.ndarray, matrix: np.ndarray) -> None:
        """Add stored vectors (as SQLite holds them) under the given ids, mapped into the space."""
        if len(ids):
            self._index.add_with_ids(np.ascontiguousarray(self.space.passages(matrix)), ids)

    def remove(self, ids: np.ndarray) -> None:
        """Remove vectors by id (unknown ids are ignored)."""
        if len(ids):
            self._index.remove_ids(faiss.IDSelectorBatch(np.ascontiguousarray(ids, np.int64)))

    # --- search ------------------------------------------------------------------------------

    def search(
        self, query: np.ndarray, k: int, visible: Visible | None = None
    ) -> list[tuple[int, float]]:
        """The ``k`` nearest readable vector ids to one query vector, best first, with scores.

        Args:
            query: The query vector as the embedder returned it (the view maps it).
            k: How many results.
            visible: The readable ids; None when the caller may read every chunk.

        """
        if not len(self):
            return []
        mapped = self.space.query_vector(query)
        matrix = np.ascontiguousarray(mapped, dtype=np.float32).reshape(1, -1)
        if (
            visible is not None
            and self.kind != "flat"
            and visible.count <= self.policy.exact_filter_max
        ):
            return self._exact_over(matrix[0], k, visible)
        params = self._params(visible.selector if visible is not None else None)
        with single_thread():
            scores, ids = self._index.search(matrix, min(k, len(self)), params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def _params(self, selector: faiss.IDSelector | None) -> faiss.SearchParameters | None:
        if isinstance(self._index, faiss.IndexIVF):
            return faiss.SearchParametersIVF(sel=selector, nprobe=self.policy.nprobe)
        if self.kind == "hnsw":
            return faiss.SearchParametersHNSW(sel=selector, efSearch=self.policy.ef_search)
        return faiss.SearchParameters(sel=selector) if selector is not None else None

    def _exact_over(self, query: np.ndarray, k: int, visible: Visible) -> list[tuple[int, float]]:
        readable = np.flatnonzero(visible.allowed).astype(np.int64)
        found = [
            (ids, self.space.passages(matrix) @ query)
            for ids, matrix in self.database.iter_vectors(self.collection, readable, self.dimension)
        ]
        if not found:
            return []
        ids = np.concatenate([f[0] for f in found])
        scores = np.concatenate([f[1] for f in found])
        top = np.argsort(-scores, kind="stable")[:k]
        return [(int(ids[i]), float(scores[i])) for i in top]

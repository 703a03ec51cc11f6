"""The BM25 view of one collection: keyword search over Kiwi morphemes, rebuildable like FAISS.

What is persisted is the expensive part, the tokenization: a documents x terms count matrix in
CSR form (``ids``, ``indptr``, ``terms``, ``counts`` in one ``.npz``, loaded with
``allow_pickle=False``) plus the vocabulary as JSON. BM25 weights (which depend on corpus-wide
document frequencies and average length) are derived in memory on load and after each change,
in one vectorized pass. That keeps updates incremental: a commit tokenizes only its new chunks
and drops removed rows, instead of re-weighting a frozen matrix.

The view follows SQLite exactly like the dense one: tagged with a commit sequence, caught up by
set difference of vector ids, published atomically, rebuilt when missing or damaged.

A query scores only readable rows: postings of hidden rows are dropped before accumulation, so
a restricted chunk never gets a score (access control inside the search, not after it).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from rag.store.checkpoint import UnusableCheckpointError, expect
from rag.store.database import Database
from rag.store.morphemes import TOKENIZER_VERSION, tokenize, tokenize_many
from rag.store.view import View
from rag.store.visibility import Visible

K1 = 0.9
B = 0.75
_TOKENIZE_BATCH = 2048


@dataclass(frozen=True)
class KeywordMatch:
    """The readable chunks sharing a term with a query, with BM25 scores.

    Attributes:
        ids: Vector ids of every matching chunk.
        scores: Their BM25 scores.
        evidence: Share of the query's idf mass found in the best match, in [0, 1]
            (see :func:`keyword_evidence`).

    """

    ids: np.ndarray
    scores: np.ndarray
    evidence: float

    def top(self, k: int) -> list[tuple[int, float]]:
        """The ``k`` best ``(vector id, score)`` pairs, best first."""
        if not len(self.ids):
            return []
        top = np.argpartition(-self.scores, min(k, len(self.scores)) - 1)[:k]
        top = top[np.argsort(-self.scores[top], kind="stable")]
        return [(int(self.ids[i]), float(self.scores[i])) for i in top]

    def scores_of(self, ids: np.ndarray) -> np.ndarray:
        """BM25 scores of the given vector ids (0 for chunks that match no term)."""
        order = np.argsort(self.ids)
        sorted_ids = self.ids[order]
        where = np.clip(np.searchsorted(sorted_ids, ids), 0, max(len(sorted_ids) - 1, 0))
        found = (sorted_ids[where] == ids) if len(sorted_ids) else np.zeros(len(ids), bool)
        return np.where(found, self.scores[order][where] if len(order) else 0.0, 0.0)


def _vector(data: Mapping[str, np.ndarray], key: str, dtype: type[np.generic]) -> np.ndarray:
    """``data[key]`` if it is a 1-d array of exactly ``dtype`` (what :meth:`_files` writes)."""
    array = data[key]
    if array.ndim != 1 or array.dtype != dtype:
        msg = f"{key!r} is a {array.ndim}-d {array.dtype} array, not 1-d {np.dtype(dtype)}"
        raise UnusableCheckpointError(msg)
    return array


def keyword_evidence(query_idf: Sequence[float], matched_idf: Sequence[float]) -> float:
    """Share of a query's idf mass that its best keyword hit contains, in [0, 1].

    Fusion weighs BM25 by it (:class:`rag.fusion.Fusion`): a query whose best hit shares only a
    stray number with it has little evidence, whatever its normalized BM25 score says.

    Args:
        query_idf: idf of every distinct query token (unknown tokens at the maximum idf).
        matched_idf: idf of the distinct query tokens the best hit contains.

    """
    total = float(sum(query_idf))
    return float(sum(matched_idf)) / total if total > 0 else 0.0


class SparseIndex(View):
    """BM25 over one collection's chunks, keyed by SQLite vector id.

    Args:
        folder: This collection's folder for checkpoints.
        collection: The collection it indexes.
        database: Where the chunk texts come from.

    """

    FORMAT = 1

    def __init__(self, folder: Path, collection: str, database: Database) -> None:
        super().__init__(folder, collection, database)
        self._ids = np.empty(0, np.int64)
        self.vocabulary: dict[str, int] = {}
        self._counts = sparse.csr_matrix((0, 0), dtype=np.float32)
        self._postings: sparse.csc_matrix | None = None  # BM25 weights, terms as columns
        self._idf = np.empty(0, np.float32)
        self._mask: tuple[Visible, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self._ids)

    def ids(self) -> np.ndarray:
        """Every vector id the view holds, in row order."""
        return self._ids

    def _read(self, manifest: Mapping[str, Any], seq: int) -> None:
        expect(manifest, "tokenizer", TOKENIZER_VERSION)
        matrix_name, vocabulary_name = f"bm25.{seq}.npz", f"vocabulary.{seq}.json"
        expect(manifest, "matrix", matrix_name)
        expect(manifest, "vocabulary", vocabulary_name)
        with np.load(self.folder / matrix_name, allow_pickle=False) as data:
            ids, indptr = _vector(data, "ids", np.int64), _vector(data, "indptr", np.int64)
            terms, counts = _vector(data, "terms", np.int32), _vector(data, "counts", np.float32)
        words = json.loads((self.folder / vocabulary_name).read_text("utf-8"))
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            msg = "the vocabulary is not a list of words"
            raise UnusableCheckpointError(msg)
        if len(set(words)) != len(words) or len(indptr) != len(ids) + 1:
            msg = "the vocabulary or the row index has the wrong shape"
            raise UnusableCheckpointError(msg)
        # Rows are kept in vector-id order (ids only grow): anything else is a shuffled file.
        if len(ids) and (ids[0] < 1 or bool(np.any(np.diff(ids) <= 0))):
            msg = "row ids are not increasing"
            raise UnusableCheckpointError(msg)
        if not bool(np.all(np.isfinite(counts) & (counts > 0))):
            msg = "term counts are not positive numbers"
            raise UnusableCheckpointError(msg)
        matrix = sparse.csr_matrix((counts, terms, indptr), shape=(len(ids), len(words)))
        matrix.check_format(full_check=True)
        self._ids, self._counts = ids, matrix
        self.vocabulary = {word: i for i, word in enumerate(words)}
        self._changed()

    def _clear(self) -> None:
        self._ids = np.empty(0, np.int64)
        self.vocabulary = {}
        self._counts = sparse.csr_matrix((0, 0), dtype=np.float32)
        self._changed()

    def _changed(self) -> None:
        """Forget what was derived from the rows (weights, readable-row masks)."""
        self._postings = None
        self._mask = None

    # --- keeping up with SQLite --------------------------------------------------------------

    def _follow(self, stale: np.ndarray, missing: np.ndarray, *, fresh: bool) -> None:
        if len(stale):
            keep = ~np.isin(self._ids, stale)
            self._ids, self._counts = self._ids[keep], self._counts[keep]
        for start in range(0, len(missing), _TOKENIZE_BATCH):
            ids, texts = self.database.chunk_texts(missing[start : start + _TOKENIZE_BATCH])
            self._append(ids, tokenize_many(texts))
        self._changed()

    def _append(self, ids: np.ndarray, documents: list[list[str]]) -> None:
        rows, columns = [], []
        for row, tokens in enumerate(documents):
            for token in tokens:
                columns.append(self.vocabulary.setdefault(token, len(self.vocabulary)))
                rows.append(row)
        added = sparse.csr_matrix(
            (np.ones(len(rows), np.float32), (rows, columns)),
            shape=(len(ids), len(self.vocabulary)),
        )  # duplicate (row, term) pairs sum into term counts
        self._counts.resize((self._counts.shape[0], len(self.vocabulary)))
        ordered = not len(self._ids) or not len(ids) or ids[0] > self._ids[-1]
        self._counts = sparse.vstack([self._counts, added], format="csr")
        self._ids = np.concatenate([self._ids, ids.astype(np.int64)])
        if not ordered:  # new ids are always the highest; should they not be, keep id order
            order = np.argsort(self._ids, kind="stable")
            self._ids, self._counts = self._ids[order], self._counts[order]

    def _weights(self) -> sparse.csc_matrix:
        """BM25 term weights per (document, term), derived from counts (Lucene's idf)."""
        if self._postings is None:
            counts = self._counts.tocsc()
            counts.sum_duplicates()
            n = max(len(self._ids), 1)
            lengths = np.asarray(self._counts.sum(axis=1)).ravel()
            average = float(lengths.mean()) if len(lengths) else 1.0
            df = np.diff(counts.indptr).astype(np.float64)
            self._idf = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)
            norm = K1 * (1 - B + B * lengths / max(average, 1e-9))
            tf = counts.data
            counts.data = (tf * (K1 + 1) / (tf + norm[counts.indices])).astype(np.float32)
            counts.data *= np.repeat(self._idf, np.diff(counts.indptr))
            self._postings = counts
        return self._postings

    # --- search ------------------------------------------------------------------------------

    def search(self, query: str, k: int, visible: Visible | None = None) -> list[tuple[int, float]]:
        """The ``k`` best readable chunks for ``query`` by BM25, best first, with scores.

        Args:
            query: The question text.
            k: How many results.
            visible: The readable ids; None when the caller may read every chunk.

        """
        return self.match(query, visible).top(k)

    def match(self, query: str, visible: Visible | None = None) -> KeywordMatch:
        """Score every readable chunk that shares a term with ``query``."""
        tokens = set(tokenize(query))
        known = np.fromiter(
            sorted(self.vocabulary[t] for t in tokens if t in self.vocabulary), dtype=np.int64
        )
        empty = KeywordMatch(np.empty(0, np.int64), np.empty(0, np.float32), 0.0)
        if not len(known) or not len(self):
            return empty
        postings = self._weights()
        starts, ends = postings.indptr[known], postings.indptr[known + 1]
        rows = np.concatenate([postings.indices[s:e] for s, e in zip(starts, ends, strict=True)])
        weights = np.concatenate([postings.data[s:e] for s, e in zip(starts, ends, strict=True)])
        if visible is not None:
            readable = self._readable_rows(visible)[rows]
            rows, weights = rows[readable], weights[readable]
        if not len(rows):
            return empty
        candidates, inverse = np.unique(rows, return_inverse=True)
        scores = np.bincount(inverse, weights=weights).astype(np.float32)
        best_row = int(candidates[int(np.argmax(scores))])
        best_terms = self._counts.indices[
            self._counts.indptr[best_row] : self._counts.indptr[best_row + 1]
        ]
        # Unknown query words count as the rarest (idf of a term in no document).
        rarest = float(np.log1p((len(self) + 0.5) / 0.5))
        query_idf = [*self._idf[known], *([rarest] * (len(tokens) - len(known)))]
        matched_idf = self._idf[np.intersect1d(known, best_terms)]
        return KeywordMatch(self._ids[candidates], scores, keyword_evidence(query_idf, matched_idf))

    def _readable_rows(self, visible: Visible) -> np.ndarray:
        if self._mask is None or self._mask[0] is not visible:
            self._mask = (visible, visible.mask(self._ids))
        return self._mask[1]

    # --- checkpoints -------------------------------------------------------------------------

    def _files(self) -> tuple[dict[str, Callable[[str], object]], dict[str, Any]]:
        matrix = self._counts.tocsr()
        matrix.sum_duplicates()
        words = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        matrix_name, vocabulary_name = f"bm25.{self.seq}.npz", f"vocabulary.{self.seq}.json"

        def write_matrix(tmp: str) -> None:
            buffer = io.BytesIO()
            np.savez(
                buffer,
                ids=self._ids,
                indptr=matrix.indptr.astype(np.int64),
                terms=matrix.indices.astype(np.int32),
                counts=matrix.data.astype(np.float32),
            )
            Path(tmp).write_bytes(buffer.getvalue())

        def write_vocabulary(tmp: str) -> None:
            Path(tmp).write_text(json.dumps(words, ensure_ascii=False), encoding="utf-8")

        manifest = {
            "tokenizer": TOKENIZER_VERSION,
            "matrix": matrix_name,
            "vocabulary": vocabulary_name,
        }
        return {matrix_name: write_matrix, vocabulary_name: write_vocabulary}, manifest

"""The BM25 view of one collection: keyword search over Kiwi morphemes, rebuildable like FAISS.

What is persisted is the expensive part, the tokenization: a documents x terms count matrix in
CSR form (``ids``, ``indptr``, ``terms``, ``counts`` in one ``.npz``, loaded with
``allow_pickle=False``, every array's dtype and shape checked) plus the vocabulary as JSON.
BM25 weights are derived in memory, after each change, from the counts. That keeps updates
incremental: a commit tokenizes only its new chunks and drops removed rows, instead of
re-weighting a frozen matrix. The view follows SQLite like every view (:mod:`rag.store.view`).

Access control happens inside the scoring, and so do the statistics. A query scores only
readable rows (postings of hidden rows are dropped before accumulation), and idf, the document
count and the average length are those of the rows the caller may read: counted over all rows
they would let an outsider tell whether a hidden document contains a word (its score moves).
A caller who reads everything uses weights precomputed once per commit; any other caller's
statistics (row mask, count, length norms) are derived once per readable set and commit and
kept for a few sets, and its weights are computed per query for the postings it touches,
which costs about half a millisecond at 100k chunks (``docs/benchmarks.md``) and no memory
per caller beyond five bytes a row.

A query is a text (each of its distinct tokens weighs 1) or terms with weights: BM25 is a sum
over the query's terms, so a weighted query scales each term's postings and its share of the
keyword evidence. A chat follow-up uses that to count the words of earlier turns for less.
"""

from __future__ import annotations

import io
import json
import math
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from rag.store.bm25 import K1, NO_MATCH, B, KeywordMatch, matched, query_terms
from rag.store.checkpoint import UnusableCheckpointError, expect
from rag.store.database import Database
from rag.store.records import KeywordQuery
from rag.store.view import View
from rag.store.visibility import Visible
from rag.text.morphemes import TOKENIZER_VERSION, tokenize_many

_TOKENIZE_BATCH = 2048
# Callers' readable sets whose statistics are kept (each costs 5 bytes per row).
_READABLE_SETS = 16


@dataclass(frozen=True)
class _Terms:
    """The count matrix by term (CSC arrays), with BM25 weights over every row.

    Attributes:
        indptr: Term ``t``'s postings are ``rows[indptr[t]:indptr[t + 1]]`` (sorted).
        rows: Row of each posting.
        tf: Term count of each posting.
        weights: BM25 weight of each posting, under every row's statistics.
        idf: Per term, under every row's statistics.
        lengths: Tokens per row.

    """

    indptr: np.ndarray
    rows: np.ndarray
    tf: np.ndarray
    weights: np.ndarray
    idf: np.ndarray
    lengths: np.ndarray


@dataclass(frozen=True)
class _Readable:
    """BM25 statistics of the rows one caller may read.

    Attributes:
        mask: Per row, whether the caller may read it.
        count: How many rows that is (BM25's N).
        norm: Per row, the length normalization ``K1 * (1 - B + B * length / average)`` with
            the average over the readable rows.

    """

    mask: np.ndarray
    count: int
    norm: np.ndarray


def _vector(data: Mapping[str, np.ndarray], key: str, dtype: type[np.generic]) -> np.ndarray:
    """``data[key]`` if it is a 1-d array of exactly ``dtype`` (what :meth:`_files` writes)."""
    array = data[key]
    if array.ndim != 1 or array.dtype != dtype:
        msg = f"{key!r} is a {array.ndim}-d {array.dtype} array, not 1-d {np.dtype(dtype)}"
        raise UnusableCheckpointError(msg)
    return array


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
        self._terms: _Terms | None = None  # derived from the counts on first search
        # Statistics per caller's readable set, newest last (the Visible objects are the
        # store's, one per collection, commit and access: see Store.visible).
        self._readable: OrderedDict[Visible, _Readable] = OrderedDict()

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
        """Forget what was derived from the rows (weights, statistics per caller)."""
        self._terms = None
        self._readable.clear()

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

    def _postings(self) -> _Terms:
        """The postings by term with BM25 weights over every row (Lucene's idf)."""
        if self._terms is None:
            counts = self._counts.tocsc()
            counts.sum_duplicates()
            n = max(len(self._ids), 1)
            lengths = np.asarray(self._counts.sum(axis=1)).ravel()
            average = float(lengths.mean()) if len(lengths) else 1.0
            df = np.diff(counts.indptr).astype(np.float64)
            idf = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)
            norm = K1 * (1 - B + B * lengths / max(average, 1e-9))
            tf = counts.data
            weights = (tf * (K1 + 1) / (tf + norm[counts.indices])).astype(np.float32)
            weights *= np.repeat(idf, np.diff(counts.indptr))
            self._terms = _Terms(counts.indptr, counts.indices, tf, weights, idf, lengths)
        return self._terms

    def _statistics(self, visible: Visible) -> _Readable:
        """BM25 statistics over the rows ``visible`` lets a caller read (cached, bounded)."""
        found = self._readable.get(visible)
        if found is not None:
            self._readable.move_to_end(visible)
            return found
        lengths = self._postings().lengths
        mask = visible.mask(self._ids)
        count = int(mask.sum())
        average = float(lengths[mask].mean()) if count else 1.0
        norm = (K1 * (1 - B + B * lengths / max(average, 1e-9))).astype(np.float32)
        found = _Readable(mask, count, norm)
        self._readable[visible] = found
        if len(self._readable) > _READABLE_SETS:
            self._readable.popitem(last=False)
        return found

    # --- search ------------------------------------------------------------------------------

    def search(
        self, query: KeywordQuery, k: int, visible: Visible | None = None
    ) -> list[tuple[int, float]]:
        """The ``k`` best readable chunks for ``query`` by BM25, best first, with scores.

        Args:
            query: The question text, or weighted terms.
            k: How many results.
            visible: The readable ids; None when the caller may read every chunk.

        """
        return self.match(query, visible).top(k)

    def match(self, query: KeywordQuery, visible: Visible | None = None) -> KeywordMatch:
        """Score every readable chunk that shares a term with ``query`` (text or weighted terms).

        Scores and evidence use the statistics of what the caller may read (all rows when
        ``visible`` is None), so no hidden row influences them.
        """
        terms = query_terms(query)
        if not terms or not len(self):
            return NO_MATCH
        if visible is None:
            return self._match_all(terms)
        return self._match_readable(terms, self._statistics(visible))

    def _match_all(self, query: dict[str, float]) -> KeywordMatch:
        """BM25 with the precomputed weights of every row (a caller who reads everything)."""
        found = sorted((self.vocabulary[t], w) for t, w in query.items() if t in self.vocabulary)
        if not found:
            return NO_MATCH
        known = np.array([term for term, _ in found], dtype=np.int64)
        scale = np.array([weight for _, weight in found], dtype=np.float32)
        terms = self._postings()
        starts, ends = terms.indptr[known], terms.indptr[known + 1]
        rows = np.concatenate([terms.rows[s:e] for s, e in zip(starts, ends, strict=True)])
        weights = np.concatenate(
            [terms.weights[s:e] * w for s, e, w in zip(starts, ends, scale, strict=True)]
        )
        if not len(rows):  # words whose chunks were all removed since
            return NO_MATCH
        # Unknown query words count as the rarest (idf of a term in no document).
        rarest = float(np.log1p((len(self) + 0.5) / 0.5))
        unknown = [w for t, w in query.items() if t not in self.vocabulary]
        query_idf = [*(terms.idf[known] * scale), *(rarest * w for w in unknown)]
        posting_idf = np.repeat(terms.idf[known] * scale, ends - starts)
        return matched(rows, weights, posting_idf, query_idf, self._ids)

    def _match_readable(self, query: dict[str, float], readable: _Readable) -> KeywordMatch:
        """BM25 over the readable rows only, its weights computed for this query's postings."""
        terms = self._postings()
        postings = [self._readable_postings(terms, token, readable.mask) for token in query]
        # A word that only hidden rows contain scores as a word in no document at all.
        idf = [
            weight * math.log1p((readable.count - len(rows) + 0.5) / (len(rows) + 0.5))
            for weight, (rows, _) in zip(query.values(), postings, strict=True)
        ]
        if not any(len(rows) for rows, _ in postings):
            return NO_MATCH
        all_rows = np.concatenate([rows for rows, _ in postings])
        weights = np.concatenate(
            [
                w * tf * (K1 + 1) / (tf + readable.norm[rows])
                for w, (rows, tf) in zip(idf, postings, strict=True)
            ]
        )
        posting_idf = np.repeat(idf, [len(rows) for rows, _ in postings])
        return matched(all_rows, weights, posting_idf, idf, self._ids)

    def _readable_postings(
        self, terms: _Terms, token: str, mask: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(rows, term counts)`` of the readable rows that contain ``token`` (rows sorted)."""
        term = self.vocabulary.get(token)
        if term is None:
            return np.empty(0, np.int32), np.empty(0, np.float64)
        span = slice(terms.indptr[term], terms.indptr[term + 1])
        rows = terms.rows[span]
        keep = mask[rows]
        return rows[keep], terms.tf[span][keep].astype(np.float64)

    # --- checkpoints -------------------------------------------------------------------------

    def _files(self) -> tuple[dict[str, Callable[[str], object]], dict[str, Any]]:
        matrix = self._counts.tocsr()
        matrix.sum_duplicates()
        words = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        seq = self.head.seq
        matrix_name, vocabulary_name = f"bm25.{seq}.npz", f"vocabulary.{seq}.json"

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

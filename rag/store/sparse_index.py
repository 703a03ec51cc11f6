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

A query is a text (each of its distinct tokens weighs 1) or terms with weights: BM25 is a sum
over the query's terms, so a weighted query scales each term's postings and its share of the
keyword evidence. A chat follow-up uses that to count the words of earlier turns for less.
"""

from __future__ import annotations

import io
import json
import logging
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse

from rag.fusion import keyword_evidence
from rag.store.checkpoint import publish, read_manifest
from rag.store.database import Database
from rag.store.morphemes import TOKENIZER_VERSION, tokenize, tokenize_many
from rag.store.visibility import Visible

logger = logging.getLogger(__name__)

FORMAT = 1
K1 = 0.9
B = 0.75
_TOKENIZE_BATCH = 2048

# A question, or its terms with weights (a term that is not a token of the index matches nothing).
KeywordQuery = str | Mapping[str, float]


@dataclass(frozen=True)
class KeywordMatch:
    """The readable chunks sharing a term with a query, with BM25 scores.

    Attributes:
        ids: Vector ids of every matching chunk.
        scores: Their BM25 scores.
        evidence: Share of the query's idf mass found in the best match, in [0, 1]
            (see :func:`rag.fusion.keyword_evidence`).

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


class SparseIndex:
    """BM25 over one collection's chunks, keyed by SQLite vector id.

    Args:
        folder: This collection's folder for checkpoints.

    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.seq = 0
        self.dirty = False
        self.ids = np.empty(0, np.int64)
        self.vocabulary: dict[str, int] = {}
        self._counts = sparse.csr_matrix((0, 0), dtype=np.float32)
        self._postings: sparse.csc_matrix | None = None  # BM25 weights, terms as columns
        self._idf = np.empty(0, np.float32)
        self._mask: tuple[Visible, np.ndarray] | None = None

    @classmethod
    def open(cls, folder: Path, collection: str, database: Database) -> SparseIndex:
        """Load the newest checkpoint (or start empty) and catch up with ``database``."""
        view = cls(folder)
        view._load_checkpoint()
        view.catch_up(database, collection)
        return view

    def __len__(self) -> int:
        return len(self.ids)

    def _load_checkpoint(self) -> None:
        manifest = read_manifest(self.folder)
        if manifest is None:
            return
        if manifest.get("format") != FORMAT or manifest.get("tokenizer") != TOKENIZER_VERSION:
            logger.warning("rebuilding %s: saved with another tokenizer or format", self.folder)
            return
        try:
            with np.load(self.folder / manifest["matrix"], allow_pickle=False) as data:
                ids, indptr = data["ids"], data["indptr"]
                terms, counts = data["terms"], data["counts"]
            words = json.loads((self.folder / manifest["vocabulary"]).read_text("utf-8"))
            matrix = sparse.csr_matrix(
                (counts, terms, indptr), shape=(len(ids), len(words)), dtype=np.float32
            )
            matrix.check_format(full_check=True)
        except (OSError, KeyError, TypeError, ValueError, EOFError, zipfile.BadZipFile) as error:
            logger.warning("rebuilding %s: unreadable checkpoint (%s)", self.folder, error)
            return
        if len(ids) != manifest.get("count"):
            logger.warning("rebuilding %s: checkpoint does not match its manifest", self.folder)
            return
        self.ids, self._counts = ids.astype(np.int64), matrix
        self.vocabulary = {word: i for i, word in enumerate(words)}
        self.seq = int(manifest["seq"])
        self._postings = None

    # --- keeping up with SQLite --------------------------------------------------------------

    def catch_up(self, database: Database, collection: str) -> None:
        """Make the index hold exactly the chunks SQLite holds for ``collection``."""
        target_seq = database.last_seq(collection)
        if target_seq == self.seq:
            return
        wanted = database.vector_ids(collection)
        keep = np.isin(self.ids, wanted)
        missing = np.setdiff1d(wanted, self.ids, assume_unique=True)
        if not keep.all():
            self.ids, self._counts = self.ids[keep], self._counts[keep]
        for start in range(0, len(missing), _TOKENIZE_BATCH):
            ids, texts = database.chunk_texts(missing[start : start + _TOKENIZE_BATCH])
            self._append(ids, tokenize_many(texts))
        self.seq = target_seq
        if len(missing) or not keep.all():
            self.dirty = True
            self._postings = None
            self._mask = None

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
        self._counts = sparse.vstack([self._counts, added], format="csr")
        self.ids = np.concatenate([self.ids, ids.astype(np.int64)])

    def _weights(self) -> sparse.csc_matrix:
        """BM25 term weights per (document, term), derived from counts (Lucene's idf)."""
        if self._postings is None:
            counts = self._counts.tocsc()
            counts.sum_duplicates()
            n = max(len(self.ids), 1)
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

    def search(
        self, query: KeywordQuery, k: int, visible: Visible | None = None
    ) -> list[tuple[int, float]]:
        """The ``k`` best readable chunks for ``query`` by BM25, best first, with scores.

        Args:
            query: The question text, or its terms with weights.
            k: How many results.
            visible: The readable ids; None when the caller may read every chunk.

        """
        return self.match(query, visible).top(k)

    def match(self, query: KeywordQuery, visible: Visible | None = None) -> KeywordMatch:
        """Score every readable chunk that shares a term with ``query`` (text or weighted terms)."""
        terms = dict.fromkeys(tokenize(query), 1.0) if isinstance(query, str) else dict(query)
        found = sorted((self.vocabulary[t], w) for t, w in terms.items() if t in self.vocabulary)
        known = np.array([term for term, _ in found], dtype=np.int64)
        scale = np.array([weight for _, weight in found], dtype=np.float32)
        empty = KeywordMatch(np.empty(0, np.int64), np.empty(0, np.float32), 0.0)
        if not len(known) or not len(self):
            return empty
        postings = self._weights()
        starts, ends = postings.indptr[known], postings.indptr[known + 1]
        rows = np.concatenate([postings.indices[s:e] for s, e in zip(starts, ends, strict=True)])
        weights = np.concatenate(
            [postings.data[s:e] * w for s, e, w in zip(starts, ends, scale, strict=True)]
        )
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
        unknown = [w for t, w in terms.items() if t not in self.vocabulary]
        query_idf = [*(self._idf[known] * scale), *(rarest * w for w in unknown)]
        matched = np.isin(known, best_terms)
        matched_idf = (self._idf[known[matched]] * scale[matched]).tolist()
        return KeywordMatch(self.ids[candidates], scores, keyword_evidence(query_idf, matched_idf))

    def _readable_rows(self, visible: Visible) -> np.ndarray:
        if self._mask is None or self._mask[0] is not visible:
            self._mask = (visible, visible.mask(self.ids))
        return self._mask[1]

    # --- checkpoints -------------------------------------------------------------------------

    def save(self) -> None:
        """Write a checkpoint atomically, then drop older ones."""
        matrix = self._counts.tocsr()
        matrix.sum_duplicates()
        words = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        matrix_name, vocabulary_name = f"bm25.{self.seq}.npz", f"vocabulary.{self.seq}.json"

        def write_matrix(tmp: str) -> None:
            buffer = io.BytesIO()
            np.savez(
                buffer,
                ids=self.ids,
                indptr=matrix.indptr.astype(np.int64),
                terms=matrix.indices.astype(np.int32),
                counts=matrix.data.astype(np.float32),
            )
            Path(tmp).write_bytes(buffer.getvalue())

        def write_vocabulary(tmp: str) -> None:
            Path(tmp).write_text(json.dumps(words, ensure_ascii=False), encoding="utf-8")

        manifest = {
            "format": FORMAT,
            "tokenizer": TOKENIZER_VERSION,
            "seq": self.seq,
            "count": len(self),
            "matrix": matrix_name,
            "vocabulary": vocabulary_name,
        }
        publish(
            self.folder, {matrix_name: write_matrix, vocabulary_name: write_vocabulary}, manifest
        )
        self.dirty = False

"""BM25 as both store backends compute it: query terms, scores, keyword evidence.

The embedded store scores its in-memory postings (:mod:`rag.store.sparse_index`) and PostgreSQL
scores in SQL (:mod:`rag.store.postgres.keyword`); both take their constants, a query's terms
and the keyword evidence from here, so the two rank alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rag.store.records import KeywordQuery
from rag.text.morphemes import tokenize

K1 = 0.9
B = 0.75


def query_terms(query: KeywordQuery) -> dict[str, float]:
    """A query's distinct terms with their positive weights, in the order of their text.

    The order is the text's, not the vocabulary numbers' (which hidden rows can change), so even
    the floating-point sums are the same whatever is hidden.
    """
    weighted = dict.fromkeys(tokenize(query), 1.0) if isinstance(query, str) else dict(query)
    return {term: weighted[term] for term in sorted(weighted) if weighted[term] > 0}


@dataclass(frozen=True)
class KeywordMatch:
    """The readable chunks sharing a term with a query, with BM25 scores.

    Attributes:
        ids: Vector ids of every matching chunk.
        scores: Their BM25 scores.
        coverage: Their keyword evidence: the share of the query's idf mass each contains,
            in [0, 1] (see :func:`keyword_coverage`).
        evidence: The coverage of the best match.

    """

    ids: np.ndarray
    scores: np.ndarray
    coverage: np.ndarray
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
        return self._of(self.scores, ids)

    def coverage_of(self, ids: np.ndarray) -> np.ndarray:
        """Keyword evidence of the given vector ids (0 for chunks that match no term)."""
        return self._of(self.coverage, ids)

    def _of(self, values: np.ndarray, ids: np.ndarray) -> np.ndarray:
        order = np.argsort(self.ids)
        sorted_ids = self.ids[order]
        where = np.clip(np.searchsorted(sorted_ids, ids), 0, max(len(sorted_ids) - 1, 0))
        found = (sorted_ids[where] == ids) if len(sorted_ids) else np.zeros(len(ids), bool)
        return np.where(found, values[order][where] if len(order) else 0.0, 0.0)


NO_MATCH = KeywordMatch(np.empty(0, np.int64), np.empty(0, np.float32), np.empty(0), 0.0)


def matched(
    rows: np.ndarray,
    weights: np.ndarray,
    posting_idf: np.ndarray,
    query_idf: Sequence[float],
    row_ids: np.ndarray,
) -> KeywordMatch:
    """Sum postings (row, BM25 weight, idf of its term) into per-row scores and coverage."""
    candidates, inverse = np.unique(rows, return_inverse=True)
    scores = np.bincount(inverse, weights=weights).astype(np.float32)
    coverage = keyword_coverage(query_idf, np.bincount(inverse, weights=posting_idf))
    return KeywordMatch(
        row_ids[candidates], scores, coverage, float(coverage[int(np.argmax(scores))])
    )


def keyword_coverage(query_idf: Sequence[float], matched_idf: np.ndarray) -> np.ndarray:
    """Share of a query's idf mass that each keyword hit contains, in [0, 1]: its evidence.

    Fusion weighs BM25 by the best hit's (:class:`rag.retrieval.fusion.Fusion`): a query whose best
    hit shares only a stray number with it has little evidence, whatever its normalized BM25 score
    says. Each hit's own is a feature of its calibrated relevance (:mod:`rag.retrieval.relevance`).

    Args:
        query_idf: idf of every distinct query token (unknown tokens at the maximum idf).
        matched_idf: Per hit, the summed idf of the distinct query tokens it contains.

    """
    total = float(sum(query_idf))
    if total <= 0:
        return np.zeros(len(matched_idf))
    return np.clip(np.asarray(matched_idf, dtype=np.float64) / total, 0.0, 1.0)

"""Fusing dense and BM25 rankings into one: a convex combination with adaptive keyword weight.

Reciprocal-rank fusion is the habit, and it measured worse here: it throws away how *much*
better the top result is, so on KorQuAD it fell below BM25 alone and on XQuAD below dense alone.
What measured best is a convex combination of per-query min-max normalized scores over the
union of both candidate lists, with each candidate's *missing* score filled in exactly (the
dense score of a keyword-only candidate from its stored vector, the BM25 score of a dense-only
candidate from the postings) instead of being guessed as zero.

The keyword weight is adaptive. Min-max normalization stretches whatever BM25 found to [0, 1],
even when it matched one stray number in a Korean question over English passages; with a fixed
weight that noise drowns a good dense ranking (cross-language search got worse with fusion).
So the BM25 weight is scaled by the keyword evidence of the query: the share of the query's
idf mass (unknown words count as the rarest) that the best keyword hit actually contains (the
keyword match computes it, :func:`rag.store.bm25.keyword_coverage`), mapped through a
ramp from ``evidence_floor`` (no keyword weight) to ``evidence_full`` (full weight).
On the dev splits, evidence sat at 0.5-1.0 for 90% of KorQuAD questions and 0.3-0.9 for XQuAD,
but below 0.17 for 90% of translated news sentences (a number or a name in common), so a floor
of 0.2 leaves cross-language rankings exactly dense while monolingual ones get the keyword
boost. The defaults (weight 0.7, ramp 0.2-0.6) were chosen on dev queries by
``benchmarks/retrieval.py --sweep``; the results are in ``docs/benchmarks.md``.

Evidence only counts as far as BM25 can see. Keywords match only passages in the question's
own language, so in a mixed corpus a Korean question's keyword hits are all Korean, and a
Korean distractor that shares a few of its words (evidence 0.4, normalized BM25 1.0) outvoted
the English passage that the dense search ranked first by far (hybrid recall@1 .80 against
.83 for dense alone on the mixed news dev set). So the evidence is also scaled by how much of
the dense search's top ``seen_top`` BM25 could have matched at all: the share of them in the
question's language (or mixed, or without letters), squared (:func:`keyword_visibility`). In a
corpus of one language, or when the top dense hits are in the question's language, the share
is 1 and nothing changes; when they are all in another language, BM25 gets no weight.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from rag.text.language import Language

FusionMethod = Literal["convex", "rrf"]
# Dense results whose languages say how much of them BM25 can see (chosen on dev: 3, 5 and 10
# measured alike on the mixed sets; squaring the share kept hybrid at or above dense there).
SEEN_TOP = 5
_NEUTRAL: frozenset[Language] = frozenset({"mixed", "und"})


def keyword_visibility(
    dense: Mapping[int, float],
    languages: Mapping[int, Language],
    query_language: Language,
    top: int = SEEN_TOP,
) -> float:
    """How much of the dense search's best ``top`` BM25 could match, squared, in [0, 1].

    A chunk in another language than the question cannot share its keywords; one in the same
    language, mixed, or of unknown language can. A question of no single language sees all.
    """
    if query_language in _NEUTRAL:
        return 1.0
    best = sorted(dense, key=lambda i: -dense[i])[:top]
    if not best:
        return 1.0
    seen = sum(languages.get(i, "und") in (_NEUTRAL | {query_language}) for i in best)
    return (seen / len(best)) ** 2


@dataclass(frozen=True)
class Fusion:
    """How dense and keyword results are combined.

    Attributes:
        method: ``convex`` (normalized-score combination) or ``rrf`` (reciprocal rank).
        keyword_weight: Weight of the normalized BM25 score when the evidence is full.
        adaptive: Scale ``keyword_weight`` by the query's keyword evidence.
        evidence_floor: Evidence at or below which BM25 gets no weight (adaptive only).
        evidence_full: Evidence at or above which BM25 gets ``keyword_weight``.
        rrf_k: The rank offset of reciprocal-rank fusion.

    """

    method: FusionMethod = "convex"
    keyword_weight: float = 0.7
    adaptive: bool = True
    evidence_floor: float = 0.2
    evidence_full: float = 0.6
    rrf_k: int = 60

    def keyword_share(self, evidence: float, visibility: float = 1.0) -> float:
        """The BM25 weight for a query with ``evidence`` and ``visibility`` in [0, 1]."""
        if not self.adaptive:
            return self.keyword_weight
        span = max(self.evidence_full - self.evidence_floor, 1e-9)
        ramp = min(1.0, max(0.0, (evidence * visibility - self.evidence_floor) / span))
        return self.keyword_weight * ramp

    def fuse(
        self,
        dense: Mapping[int, float],
        keyword: Mapping[int, float],
        evidence: float,
        visibility: float = 1.0,
    ) -> list[tuple[int, float]]:
        """One ranking from two score maps over the same candidates, best first.

        Args:
            dense: Candidate id -> dense score (every candidate, filled in).
            keyword: Candidate id -> BM25 score (every candidate, 0 when no term matches).
            evidence: Keyword evidence of the query, in [0, 1].
            visibility: How much of the dense results BM25 can see (:func:`keyword_visibility`).

        """
        ids = list(dense.keys() | keyword.keys())
        if not ids:
            return []
        if self.method == "rrf":
            fused = _rrf(ids, dense, self.rrf_k) + _rrf(ids, keyword, self.rrf_k)
        else:
            share = self.keyword_share(evidence, visibility)
            d = _minmax(np.array([dense.get(i, 0.0) for i in ids]))
            k = _minmax(np.array([keyword.get(i, 0.0) for i in ids]))
            fused = (1.0 - share) * d + share * k
        order = np.argsort(-fused, kind="stable")
        return [(ids[i], float(fused[i])) for i in order]


def _minmax(scores: np.ndarray) -> np.ndarray:
    low, high = float(scores.min()), float(scores.max())
    if high - low < 1e-12:
        # Tied candidates (one alone, say) are all the best there is: 1 if they matched at
        # all, else 0. Zero for a lone strong hit would show a user "score 0.000".
        return np.where(scores > 0, 1.0, 0.0)
    return (scores - low) / (high - low)


def _rrf(ids: Sequence[int], scores: Mapping[int, float], k: int) -> np.ndarray:
    ranked = sorted(scores, key=lambda i: -scores[i])
    rank = {vector_id: position for position, vector_id in enumerate(ranked, start=1)}
    return np.array([1.0 / (k + rank[i]) if i in rank else 0.0 for i in ids])

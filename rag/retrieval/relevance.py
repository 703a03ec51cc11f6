"""A calibrated relevance for each retrieved chunk: a number that means the same for every query.

The scores a search ranks by cannot say "nothing here answers this": the fused score is
min-max normalized per query, so the best hit of an off-topic question scores 1.0 like the
best hit of a good one, and raw cosines of e5-small sit in one narrow band (off-topic questions
against ``examples/`` reached .78-.84, English questions against their gold Korean article
.76-.82). Relevance is instead a small logistic model over evidence that keeps its meaning
across queries:

- ``dense``: the cosine of question and chunk in the language-neutral space
  (:mod:`rag.embeddings.space`), where unrelated texts no longer share a language's common
  direction;
- ``coverage``: the share of the question's keyword weight (idf mass) the chunk contains;
- ``cross_language``: 1 when question and chunk are one Korean and one English (a translation
  pair scores lower than a same-language match of the same quality and shares no keywords, so
  the model gives it its own intercept and its own slope on ``dense``: the fourth term is
  ``dense * cross_language``).

Fitted on dev data (``benchmarks/calibrate.py``): positives are questions with their gold
passage (KorQuAD, XQuAD, the news pairs both ways, the mixed news sets), negatives are the top
results of questions against another dataset's corpus and of off-topic questions against every
corpus, both classes weighted equally. So relevance estimates the odds that a chunk is one that
answers the question rather than the best a collection that does not cover it has to offer;
0.5 is even odds. The model (:class:`~rag.embeddings.calibration.RelevanceModel`) and its
coefficients ship with each embedder's calibration (:mod:`rag.embeddings.calibration`); how they
were fitted is documented with the benchmarks.

**The floor adapts to the collection** (:func:`cohort_floor`). How high a question the
collection does not cover can score depends on the collection: against a thousand one-line
news items about everything, the best hit of "what is the weather tomorrow?" reaches .3;
against a statute, .001. A fixed ``min_relevance`` that refuses such questions over the broad
collection drops paraphrased in-domain questions over the focused one (their gold scores
.005-.05 there). So, as speaker verification normalizes a score against impostors of the same
model (cohort or "T-norm" normalization), each collection is asked a fixed cohort of unrelated
questions (shipped with the calibration), and the floor is lowered to the level that still
refuses :data:`COHORT_QUANTILE` of them, never below :data:`LOWEST_FLOOR` and never above
``min_relevance``. The cohort is asked with the caller's access, so the floor says nothing
about documents the caller cannot read.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rag.text.language import Language

# The share of the cohort the adaptive floor refuses: the refusal rate a floor is meant to reach
# (90% of off-topic questions), not a tuned value. LOWEST_FLOOR keeps a floor where the cohort
# scores next to nothing (its dev choice: docs/benchmarks.md, "The adaptive floor").
COHORT_QUANTILE = 0.9
LOWEST_FLOOR = 0.002


def cross_language(query: Language, chunk: Language) -> bool:
    """Whether one side is Korean and the other English (mixed or unknown sides are neither)."""
    return {query, chunk} == {"ko", "en"}


def cohort_floor(best: Sequence[float], ceiling: float) -> float:
    """The floor that refuses :data:`COHORT_QUANTILE` of a cohort of unrelated questions.

    Args:
        best: Each cohort question's best relevance in the collection (0 for no result).
        ceiling: ``min_relevance``: the floor is never higher (nor above 0 when it is 0).

    """
    if not best or ceiling <= 0:
        return ceiling
    return float(np.clip(np.quantile(best, COHORT_QUANTILE), min(LOWEST_FLOOR, ceiling), ceiling))


def uncalibrated(dense: np.ndarray) -> np.ndarray:
    """What a model without a calibration shows: its cosine, clipped to [0, 1].

    It orders like the model but means nothing across queries, so no floor applies to it.
    """
    return np.clip(np.asarray(dense, dtype=np.float64), 0.0, 1.0)

"""Per-model calibrations shipped with the code: the vector space and the relevance model.

The relevance model (:class:`RelevanceModel`) is a logistic model over a hit's evidence, which
:mod:`rag.retrieval.relevance` explains.

A calibration is fitted for one embedding model by ``benchmarks/calibrate.py`` and lives in
``rag/embeddings/calibrations/`` as two files: ``<name>.npz`` (the arrays: the space's shifts and
axes, the probe vectors; loaded with ``allow_pickle=False``, every dtype and shape checked) and
``<name>.json`` (the relevance coefficients, the probe texts, the off-topic cohort of the adaptive
floor, and how and on what it was fitted, for people to read).

Which calibration belongs to a loaded model is decided by the model's own output, not by its
name: a hub name, a local folder and a renamed copy are the same model, and a fine-tuned one
is not. Each calibration holds the vectors its model gave for a few probe texts; a model that
embeds them the same way (mean cosine at least :data:`PROBE_MATCH`, which also admits the
int8 ONNX backend, whose vectors stay above .98 of torch's) uses it, and any other model gets
:data:`UNCALIBRATED`: raw vectors, and a relevance that orders but is not calibrated, so no
relevance floor applies (a warning says so).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.embeddings.space import RAW, AffineMap, VectorSpace

logger = logging.getLogger(__name__)

CALIBRATIONS = Path(__file__).resolve().parent / "calibrations"
# Mean cosine between a model's probe vectors and a calibration's for them to be one model.
PROBE_MATCH = 0.95
_ARRAYS = ("passage_shift", "passage_axis", "query_shift", "query_axis")
# What a retrieved hit contributes, and the terms of the model built from them.
FEATURES = ("dense", "coverage", "cross_language")
TERMS = (*FEATURES, "dense_x_cross_language")


def design(features: np.ndarray) -> np.ndarray:
    """The model's terms (:data:`TERMS`) from rows of :data:`FEATURES`."""
    rows = np.asarray(features, dtype=np.float64).reshape(-1, len(FEATURES))
    return np.column_stack([rows, rows[:, 0] * rows[:, 2]])


@dataclass(frozen=True)
class RelevanceModel:
    """``relevance = sigmoid(intercept + sum(weight * term))`` over :data:`TERMS`.

    Attributes:
        intercept: The bias.
        weights: One per term, in the order of :data:`TERMS`.

    """

    intercept: float
    weights: tuple[float, ...]

    def __call__(self, features: np.ndarray) -> np.ndarray:
        """Relevance in [0, 1] of each row of ``features`` (``(n, len(FEATURES))``)."""
        logits = self.intercept + design(features) @ np.asarray(self.weights)
        return 1.0 / (1.0 + np.exp(-logits))


@dataclass(frozen=True)
class Calibration:
    """What one embedding model is searched and scored with.

    Attributes:
        name: The calibration's file name (without suffix), or ``none``.
        space: Where its vectors are compared.
        relevance: Its relevance model; None when uncalibrated.
        cohort: Questions no collection answers, for the adaptive floor
            (:func:`rag.retrieval.relevance.cohort_floor`); none: the floor is ``min_relevance``.

    """

    name: str
    space: VectorSpace
    relevance: RelevanceModel | None
    cohort: tuple[str, ...] = ()


UNCALIBRATED = Calibration("none", RAW, None)


class CalibrationFileError(Exception):
    """A calibration file that cannot be used (a bug in shipping it; the model runs raw)."""


def read_calibration(npz: Path) -> tuple[Calibration, list[str], np.ndarray]:
    """A calibration from ``<name>.npz`` and ``<name>.json``, with its probe texts and vectors.

    Raises:
        CalibrationFileError: A file is missing, malformed, or its arrays disagree in shape.

    """
    try:
        meta = json.loads(npz.with_suffix(".json").read_text("utf-8"))
        with np.load(npz, allow_pickle=False) as data:
            arrays = {key: np.asarray(data[key]) for key in (*_ARRAYS, "probe_vectors")}
        coefficients = meta["relevance"]
        weights = tuple(float(coefficients["weights"][name]) for name in TERMS)
        relevance = RelevanceModel(float(coefficients["intercept"]), weights)
        texts = [str(text) for text in meta["probe_texts"]]
        cohort = tuple(str(text) for text in meta.get("cohort_texts", ()))
    except (OSError, ValueError, KeyError, TypeError) as error:
        msg = f"{npz}: {error}"
        raise CalibrationFileError(msg) from None
    probes = arrays.pop("probe_vectors")
    dimension = probes.shape[-1]
    if probes.shape != (len(texts), dimension) or any(
        a.shape != (dimension,) or a.dtype != np.float32 for a in arrays.values()
    ):
        msg = f"{npz}: arrays of the wrong shape or type"
        raise CalibrationFileError(msg)
    space = VectorSpace(
        npz.stem,
        AffineMap(arrays["passage_shift"], arrays["passage_axis"]),
        AffineMap(arrays["query_shift"], arrays["query_axis"]),
    )
    return Calibration(npz.stem, space, relevance, cohort), texts, probes


def find_calibration(
    encode_documents: Callable[[Sequence[str]], np.ndarray],
    dimension: int,
    folder: Path = CALIBRATIONS,
) -> Calibration:
    """The calibration whose probe vectors this model reproduces, else :data:`UNCALIBRATED`.

    Args:
        encode_documents: The model's passage encoder (normalized vectors).
        dimension: Its vector size (calibrations of other sizes are skipped unread).
        folder: Where calibrations live.

    """
    for npz in sorted(folder.glob("*.npz")):
        try:
            calibration, texts, probes = read_calibration(npz)
        except CalibrationFileError as error:
            logger.warning("ignoring calibration %s", error)
            continue
        if probes.shape[1] != dimension:
            continue
        agreement = float(np.mean(np.sum(encode_documents(texts) * probes, axis=1)))
        if agreement >= PROBE_MATCH:
            return calibration
    logger.warning(
        "no calibration matches this embedding model: vectors are compared raw, relevance is "
        "its cosine and min_relevance does not apply (fit one with benchmarks/calibrate.py)"
    )
    return UNCALIBRATED

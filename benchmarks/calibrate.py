"""Fit an embedding model's calibration: its language-neutral space and its relevance model.

Everything is fitted on **dev** data only (the test split and the test half of the off-topic
questions are for ``retrieval.py`` to report on):

1. **Space** (:mod:`rag.embeddings.space`): embed both sides of the news dev split as passages and
as
   queries; per kind, the shift is ``--alpha`` times the mean of the Korean and the English mean
   vectors, the axis the direction from the English mean to the Korean one.
2. **Relevance** (:mod:`rag.retrieval.relevance`): hybrid search in that space over every dev corpus
   (KorQuAD, XQuAD, the news sides, the mixed news sets, ``examples/``). Positives: each dev
   question's gold passage when it is in the top 5 (what a floor could cost). Negatives: the top
   5 of questions from another dataset (KorQuAD against XQuAD and the news, and so on) and of
   the off-topic dev questions (``data/offtopic.json``) in every corpus. A logistic regression
   (Newton's method, a little L2) over the model's terms, the two classes and the two kinds of
   negatives weighted equally.
3. **The cohort**: the off-topic dev questions are shipped with the calibration, for the
   adaptive floor (:func:`rag.retrieval.relevance.cohort_floor`).
4. **The floor**: for thresholds on a grid, the off-topic dev questions refused (no result left
   in the top 5) against the recall@5 lost per task; the recommendation is the highest
   threshold that loses at most half a point over all dev questions (half the target's budget).

It writes ``rag/embeddings/calibrations/<name>.npz`` and ``.json`` (``--output`` elsewhere) and
prints the threshold table. Usage::

    python -m benchmarks.calibrate                      # the offline multilingual-e5-small
    python -m benchmarks.calibrate --model /models/bge-m3 --name bge-m3
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import os
import random
import tempfile
from contextlib import ExitStack
from pathlib import Path

import numpy as np

from benchmarks.retrieval import (
    CACHE,
    COLLECTION,
    ROOT,
    CachedEmbeddings,
    Task,
    build_store,
    load_tasks,
    mixed_tasks,
    news_lines,
)
from rag.embeddings.calibration import CALIBRATIONS, TERMS, Calibration, RelevanceModel, design
from rag.embeddings.space import AffineMap, VectorSpace
from rag.embeddings.torch import SentenceTransformerEmbeddings
from rag.retrieval.retriever import StoreRetriever
from rag.runtime.files import atomic_write
from rag.store import Store

OFFTOPIC = ROOT / "benchmarks" / "data" / "offtopic.json"
EXAMPLES = ROOT / "examples"
# Texts whose vectors identify the model (rag.embeddings.calibration): two Korean, two English.
PROBES = (
    "비밀번호는 최소 14자 이상이어야 하며 180일마다 바꿔야 합니다.",
    "연차 휴가는 입사 첫해에 11일이 주어집니다.",
    "Passwords must be at least 14 characters long.",
    "The quarterly report was moved to Thursday afternoon.",
)
FOREIGN_SAMPLE = 100  # questions of another dataset asked in each corpus
TOP = 5
GRID = tuple(round(t, 2) for t in np.arange(0.05, 0.96, 0.05))
# recall@5 a floor may cost over all dev questions (pooled): half the target's point, since
# dev questions are not paraphrased and real ones are (their relevance is lower).
MAX_LOSS = 0.005


def offtopic(split: str) -> list[str]:
    """The off-topic questions of ``split``."""
    return list(json.loads(OFFTOPIC.read_text("utf-8"))[split])


def examples_task() -> Task:
    """``examples/`` as a corpus, one passage per file (no questions: negatives only)."""
    texts = [p.read_text("utf-8") for p in sorted(EXAMPLES.rglob("*")) if p.is_file()]
    return Task("examples", texts, [])


def family(task: Task) -> str:
    """Which dataset a task's corpus and questions come from."""
    return task.name.split()[0] if not task.name.startswith(("mixed", "images")) else "news"


def fit_space(embeddings: CachedEmbeddings, alpha: float, name: str) -> VectorSpace:
    """The space from the news dev split's Korean and English means (see the module docstring)."""
    lines = news_lines("dev")
    pairs = [(k, e) for k, e in zip(lines["ko"], lines["en"], strict=True) if k and e]
    maps = []
    for encode in (embeddings.encode_documents, embeddings.encode_queries):
        korean = encode([k for k, _ in pairs]).mean(axis=0)
        english = encode([e for _, e in pairs]).mean(axis=0)
        axis = (korean - english) / np.linalg.norm(korean - english)
        shift = alpha * (korean + english) / 2
        maps.append(AffineMap(shift.astype(np.float32), axis.astype(np.float32)))
    return VectorSpace(name, maps[0], maps[1])


def fit_logistic(x: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float = 1e-3) -> np.ndarray:
    """Weighted logistic regression by Newton's method; returns ``[intercept, *weights]``."""
    design = np.column_stack([np.ones(len(x)), x])
    beta = np.zeros(design.shape[1])
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-(design @ beta)))
        gradient = design.T @ (w * (p - y)) + l2 * np.r_[0.0, beta[1:]]
        hessian = (design * (w * p * (1 - p))[:, None]).T @ design + l2 * np.eye(len(beta))
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-9:
            break
    return beta


def collect(
    retrievers: dict[str, tuple[Task, StoreRetriever]], split: str
) -> dict[str, list[np.ndarray]]:
    """Feature rows: ``positive`` (gold in the top 5), ``foreign`` and ``offtopic`` (top 5)."""
    rows: dict[str, list[np.ndarray]] = {"positive": [], "foreign": [], "offtopic": []}
    rng = random.Random(0)
    for name, (task, retriever) in retrievers.items():
        for question, gold in task.queries:
            ranked = retriever.ranked(question)
            for hit, features in zip(ranked.hits, ranked.features(), strict=True):
                if hit.chunk.id == f"c{gold}":
                    rows["positive"].append(features)
        foreign = [
            q for other, _ in retrievers.values() if family(other) != family(task)
            for q, _ in other.queries
        ]  # fmt: skip
        for question in rng.sample(foreign, min(FOREIGN_SAMPLE, len(foreign))):
            rows["foreign"].extend(retriever.ranked(question).features())
        for question in offtopic(split):
            rows["offtopic"].extend(retriever.ranked(question).features())
        print(f"{name}: {sum(len(r) for r in rows.values())} rows so far", flush=True)
    return rows


def floor_table(
    retrievers: dict[str, tuple[Task, StoreRetriever]], model: RelevanceModel, split: str
) -> list[dict[str, float]]:
    """Per threshold: off-topic questions refused, and recall@5 lost per task."""
    refused = {t: 0 for t in GRID}
    asked = 0
    lost: dict[str, dict[float, int]] = {}
    for name, (task, retriever) in retrievers.items():
        best = [
            max(model(retriever.ranked(question).features()), default=0.0)
            for question in offtopic(split)
        ]
        asked += len(best)
        for t in GRID:
            refused[t] += sum(b < t for b in best)
        rates = "/".join(f"{np.mean(np.array(best) < t):.2f}" for t in (0.1, 0.2, 0.3))
        print(f"{name}: off-topic refused at 0.1/0.2/0.3: {rates}")
        if not task.queries:
            continue
        lost[name] = dict.fromkeys(GRID, 0)
        for question, gold in task.queries:
            ranked = retriever.ranked(question)
            relevance = model(ranked.features())
            for hit, value in zip(ranked.hits, relevance, strict=True):
                if hit.chunk.id == f"c{gold}":
                    for t in GRID:
                        lost[name][t] += value < t
    questions = sum(len(retrievers[name][0].queries) for name in lost)
    table = []
    for t in GRID:
        losses = {name: lost[name][t] / len(retrievers[name][0].queries) for name in lost}
        pooled = sum(lost[name][t] for name in lost) / questions
        table.append({"threshold": t, "refused": refused[t] / asked, "lost": pooled, **losses})
    return table


def write(folder: Path, name: str, space: VectorSpace, probes: np.ndarray, meta: dict) -> None:
    """``<name>.npz`` and ``<name>.json`` in ``folder``, each written atomically."""
    assert space.passage is not None and space.query is not None
    buffer = io.BytesIO()
    np.savez(
        buffer,
        passage_shift=space.passage.shift,
        passage_axis=space.passage.axis,
        query_shift=space.query.shift,
        query_axis=space.query.axis,
        probe_vectors=probes.astype(np.float32),
    )
    atomic_write(folder / f"{name}.npz", buffer.getvalue())
    text = json.dumps(meta, ensure_ascii=False, indent=1) + "\n"
    atomic_write(folder / f"{name}.json", text.encode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="embedder folder (default: the offline e5-small)")
    parser.add_argument("--name", default="multilingual-e5-small", help="calibration file name")
    parser.add_argument("--alpha", type=float, default=0.5, help="share of the mean removed")
    parser.add_argument("--output", type=Path, default=CALIBRATIONS)
    args = parser.parse_args()
    default_model = Path(os.environ.get("OFFLINE_MODELS_DIR", "")) / "multilingual-e5-small"
    model = args.model or str(default_model)
    embeddings = CachedEmbeddings(SentenceTransformerEmbeddings.load(model, device="cpu"), CACHE)
    space = fit_space(embeddings, args.alpha, args.name)
    located = Calibration(args.name, space, None)
    tasks = [*load_tasks("dev"), *mixed_tasks("dev"), examples_task()]
    with ExitStack() as stack:
        retrievers = {}
        for task in tasks:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            store = stack.enter_context(build_store(task, embeddings, Store(folder)))
            retrievers[task.name] = (task, _retriever(store, embeddings, located))
        rows = collect(retrievers, "dev")
        np.savez(CACHE / "calibration-rows.npz", **{k: np.vstack(v) for k, v in rows.items()})
        x = np.vstack([np.vstack(rows[kind]) for kind in ("positive", "foreign", "offtopic")])
        y = np.r_[np.ones(len(rows["positive"])), np.zeros(len(x) - len(rows["positive"]))]
        w = np.r_[
            np.full(len(rows["positive"]), 1.0 / len(rows["positive"])),
            np.full(len(rows["foreign"]), 0.5 / len(rows["foreign"])),
            np.full(len(rows["offtopic"]), 0.5 / len(rows["offtopic"])),
        ] * len(x)
        beta = fit_logistic(design(x), y, w)
        relevance = RelevanceModel(float(beta[0]), tuple(float(b) for b in beta[1:]))
        table = floor_table(retrievers, relevance, "dev")
    task_names = [name for name in table[0] if name not in ("threshold", "refused", "lost")]
    print(json.dumps({"intercept": relevance.intercept, "weights": relevance.weights}))
    print("threshold  refused  lost  " + "  ".join(task_names))
    for row in table:
        print(f"{row['threshold']:9.2f}  {row['refused']:7.3f}  {row['lost']:.3f}  "
              + "  ".join(f"{row[n]:.3f}" for n in task_names))  # fmt: skip
    chosen = max(
        (row for row in table if row["lost"] <= MAX_LOSS),
        key=lambda row: row["threshold"],
        default=table[0],
    )
    probes = embeddings.encode_documents(list(PROBES))
    meta = {
        "model": Path(model).name,
        "probe_texts": list(PROBES),
        "space": {"alpha": args.alpha, "estimated_on": "korean-english-park.dev (both sides)"},
        "relevance": {
            "intercept": relevance.intercept,
            "weights": dict(zip(TERMS, relevance.weights, strict=True)),
        },
        "fitted_on": {kind: len(r) for kind, r in rows.items()},
        "cohort_texts": offtopic("dev"),
        "recommended_min_relevance": chosen["threshold"],
        "dev_floor": chosen,
        "command": "python -m benchmarks.calibrate",
        "date": datetime.date.today().isoformat(),
    }
    write(args.output, args.name, space, probes, meta)
    print(json.dumps(meta["relevance"]), "recommended min_relevance", chosen["threshold"])


def _retriever(
    store: Store, embeddings: CachedEmbeddings, calibration: Calibration
) -> StoreRetriever:
    return StoreRetriever(
        store=store,
        embeddings=embeddings,
        collection=COLLECTION,
        k=TOP,
        calibration=calibration,
    )


if __name__ == "__main__":
    main()

"""Retrieval evaluation: datasets, relevance matching and ranking metrics.

Two dataset formats are read. A SQuAD-format file (KorQuAD, XQuAD) supplies both the corpus
(every paragraph ``context``) and the queries (every question; the gold passage is the paragraph
that holds it). A JSONL file supplies only queries, one ``{"query": ..., "relevant": [...]}`` per
line, evaluated against an ingested collection: a result is relevant to an entry when its source
path ends with the entry or its text contains it. Matching by path suffix or quoted text rather
than by chunk id keeps a dataset valid across re-chunking and re-ingestion. A line may add
``"history"``, the user's earlier questions (oldest first): the query is then a follow-up,
searched with them as a chat searches it (``bllossom-rag feedback export`` writes such lines).

Metrics treat each ``relevant`` entry as one relevant item, credited at the first rank that
matches it: recall@k is the fraction of entries found in the top k (with one gold passage this
is the usual hit rate), MRR@10 the reciprocal rank of the first relevant result, nDCG@10 uses
binary gains with the ideal ranking putting every entry first.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.documents import Document

from rag.errors import BllossomRagError

RECALL_AT = (1, 5, 10)
RANK_DEPTH = 10


class DatasetError(BllossomRagError):
    """An evaluation dataset cannot be read."""


@dataclass(frozen=True)
class EvalQuery:
    """A question, the entries that mark its relevant results, the questions asked before it."""

    text: str
    relevant: tuple[str, ...]
    history: tuple[str, ...] = ()


@dataclass(frozen=True)
class Passage:
    """One corpus passage of a SQuAD-format dataset, with a stable file-like name."""

    name: str
    text: str


@dataclass(frozen=True)
class EvalDataset:
    """Queries, and the corpus when the dataset carries one (SQuAD format)."""

    name: str
    queries: list[EvalQuery]
    passages: list[Passage] = field(default_factory=list)


def passage_name(index: int) -> str:
    """The file name of the ``index``-th SQuAD paragraph (``p00042.txt``)."""
    return f"p{index:05d}.txt"


def load_dataset(path: Path) -> EvalDataset:
    """Read a SQuAD-format ``.json`` or a ``.jsonl`` query file.

    Raises:
        DatasetError: The file is missing, not UTF-8, or not in either format.

    """
    if not path.is_file():
        msg = f"{path}: dataset file not found"
        raise DatasetError(msg)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        msg = f"{path}: not UTF-8 text ({error.reason} at byte {error.start})"
        raise DatasetError(msg) from None
    if path.suffix.lower() == ".jsonl":
        return EvalDataset(name=path.stem, queries=_jsonl_queries(path, text))
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        msg = f"{path}: invalid JSON at line {error.lineno}: {error.msg}"
        raise DatasetError(msg) from None
    return squad_dataset(data, name=path.stem, where=str(path))


def squad_dataset(data: Any, *, name: str, where: str = "dataset") -> EvalDataset:
    """Corpus = every paragraph context, queries = every question (gold: its paragraph)."""
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        msg = f'{where}: not SQuAD format (expected {{"data": [{{"paragraphs": [...]}}]}})'
        raise DatasetError(msg)
    passages: list[Passage] = []
    queries: list[EvalQuery] = []
    try:
        for article in data["data"]:
            for paragraph in article["paragraphs"]:
                passage = Passage(passage_name(len(passages)), str(paragraph["context"]))
                passages.append(passage)
                queries.extend(
                    EvalQuery(str(qa["question"]), (passage.name,)) for qa in paragraph["qas"]
                )
    except (KeyError, TypeError) as error:
        msg = f"{where}: not SQuAD format (missing field {error})"
        raise DatasetError(msg) from None
    if not queries:
        msg = f"{where}: no questions found"
        raise DatasetError(msg)
    return EvalDataset(name=name, queries=queries, passages=passages)


def _jsonl_queries(path: Path, text: str) -> list[EvalQuery]:
    queries = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as error:
            msg = f"{where}: invalid JSON: {error.msg}"
            raise DatasetError(msg) from None
        query = item.get("query") if isinstance(item, dict) else None
        relevant = item.get("relevant") if isinstance(item, dict) else None
        if not isinstance(query, str) or not query.strip():
            msg = f'{where}: field "query" must be a non-empty string'
            raise DatasetError(msg)
        if (
            not isinstance(relevant, list)
            or not relevant
            or not all(isinstance(r, str) and r for r in relevant)
        ):
            msg = f'{where}: field "relevant" must be a non-empty list of strings'
            raise DatasetError(msg)
        history = item.get("history", [])
        if not isinstance(history, list) or not all(isinstance(h, str) and h for h in history):
            msg = f'{where}: field "history" must be a list of questions (strings)'
            raise DatasetError(msg)
        queries.append(EvalQuery(query, tuple(relevant), tuple(history)))
    if not queries:
        msg = f"{path}: no queries found"
        raise DatasetError(msg)
    return queries


def _normalize_space(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def matches(entry: str, document: Document) -> bool:
    """Whether a result satisfies one ``relevant`` entry (path suffix or quoted text)."""
    source = str(document.metadata.get("source", ""))
    if source.endswith(entry):
        return True
    return _normalize_space(entry) in _normalize_space(document.page_content)


def first_ranks(query: EvalQuery, results: Sequence[Document]) -> list[int | None]:
    """For each relevant entry, the 1-based rank of its first matching result (or None)."""
    return [
        next((rank for rank, doc in enumerate(results, 1) if matches(entry, doc)), None)
        for entry in query.relevant
    ]


@dataclass
class Scores:
    """Per-query metrics, aggregated by :meth:`summary`."""

    recall: dict[int, list[float]] = field(default_factory=lambda: {k: [] for k in RECALL_AT})
    reciprocal_rank: list[float] = field(default_factory=list)
    ndcg: list[float] = field(default_factory=list)
    latency_ms: list[float] = field(default_factory=list)

    def add(self, ranks: Sequence[int | None], latency_ms: float) -> None:
        """Record one query from its relevant entries' first ranks."""
        found = [r for r in ranks if r is not None]
        for k in RECALL_AT:
            self.recall[k].append(sum(r <= k for r in found) / len(ranks))
        top = min(found, default=None)
        self.reciprocal_rank.append(1.0 / top if top is not None and top <= RANK_DEPTH else 0.0)
        dcg = sum(1.0 / math.log2(r + 1) for r in found if r <= RANK_DEPTH)
        ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(ranks), RANK_DEPTH)))
        self.ndcg.append(dcg / ideal)
        self.latency_ms.append(latency_ms)

    def summary(self) -> dict[str, Any]:
        """The stable ``eval --json`` shape."""
        result: dict[str, Any] = {"n": len(self.ndcg)}
        for k in RECALL_AT:
            result[f"recall@{k}"] = _mean(self.recall[k])
        result["mrr@10"] = _mean(self.reciprocal_rank)
        result["ndcg@10"] = _mean(self.ndcg)
        latencies = np.asarray(self.latency_ms or [0.0])
        result["latency_ms"] = {
            "p50": round(float(np.percentile(latencies, 50)), 3),
            "p95": round(float(np.percentile(latencies, 95)), 3),
        }
        return result


def _mean(values: Sequence[float]) -> float:
    return round(float(np.mean(values)), 4) if values else 0.0


def evaluate(
    queries: Iterable[EvalQuery],
    search: Callable[[EvalQuery], Sequence[Document]],
    *,
    on_query: Callable[[], None] | None = None,
) -> Scores:
    """Run ``search`` on every query and score its ranked results (latency per call)."""
    scores = Scores()
    for query in queries:
        started = time.perf_counter()
        results = search(query)
        elapsed = (time.perf_counter() - started) * 1000.0
        scores.add(first_ranks(query, results[:RANK_DEPTH]), elapsed)
        if on_query is not None:
            on_query()
    return scores

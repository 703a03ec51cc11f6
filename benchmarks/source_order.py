"""Sources in the order of the relevance they show, against the order they had before.

Before, hybrid search let relevance reorder only its first five results, by relevance log-odds
less 0.25 per place in the fused order (the baseline, rebuilt here exactly), and left the rest
in the fused order; a list could show [4] 0.040 above [5] 0.045. Now every list is sorted by the
relevance it shows. Both orders are computed here from the same hits with the same relevance,
per query, on the retrieval benchmark's tasks (``benchmarks/retrieval.py``; vectors from its
cache): recall at 1 and 5, and how many lists the baseline showed out of relevance order.

Usage::

    python -m benchmarks.source_order                  # test split, 300 queries per task
    python -m benchmarks.source_order --split dev
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.retrieval import (
    CACHE,
    COLLECTION,
    CachedEmbeddings,
    build_store,
    load_tasks,
    mixed_tasks,
)
from devkit.models import REPO
from rag.embeddings.torch import SentenceTransformerEmbeddings
from rag.retrieval.retriever import StoreRetriever
from rag.runtime.files import atomic_write
from rag.store import SearchHit, Store

DEPTH = 10
BEFORE_TOP, BEFORE_PENALTY = 5, 0.25  # the baseline's reordered places and penalty per place


def before(hits: list[SearchHit]) -> list[SearchHit]:
    """The earlier order: the first five by relevance log-odds less the penalty per place."""
    head, tail = hits[:BEFORE_TOP], hits[BEFORE_TOP:]
    relevance = np.clip([hit.relevance or 0.0 for hit in head], 1e-12, 1 - 1e-12)
    keys = np.log(relevance / (1 - relevance)) - BEFORE_PENALTY * np.arange(len(head))
    return [head[i] for i in np.argsort(-keys, kind="stable")] + tail


def now(hits: list[SearchHit]) -> list[SearchHit]:
    """Today's order: by the relevance shown."""
    return sorted(hits, key=lambda hit: -(hit.relevance or 0.0))


def rank(hits: list[SearchHit], gold: int) -> int | None:
    """The 1-based place of the gold passage (``p{gold}``), if it is there."""
    name = f"p{gold}"
    return next((i for i, hit in enumerate(hits, 1) if hit.chunk.document_id == name), None)


def measure(embeddings: CachedEmbeddings, split: str, limit: int) -> list[dict[str, Any]]:
    """Both orders on every task of ``split``."""
    rows = []
    for task in load_tasks(split) + mixed_tasks(split):
        queries = task.queries[:limit]
        with (
            tempfile.TemporaryDirectory() as folder,
            build_store(task, embeddings, Store(Path(folder))) as store,
        ):
            retriever = StoreRetriever(
                store=store, embeddings=embeddings, collection=COLLECTION, k=DEPTH
            )
            model = embeddings.calibration.relevance
            assert model is not None, "the benchmark needs a calibrated embedder"
            places: dict[str, list[int | None]] = {"before": [], "now": []}
            unordered = 0
            for query, gold in queries:
                ranked = retriever.ranked(query)
                relevance = model(ranked.features())
                hits = [
                    SearchHit(hit.chunk, hit.score, float(value))
                    for hit, value in zip(ranked.hits, relevance, strict=True)
                ]
                shown = before(hits)
                unordered += any(
                    (a.relevance or 0) < (b.relevance or 0) for a, b in itertools.pairwise(shown)
                )
                places["before"].append(rank(shown, gold))
                places["now"].append(rank(now(hits), gold))
        row: dict[str, Any] = {"task": f"{task.name}, n={len(queries)}"}
        for order, found in places.items():
            for k in (1, 5):
                row[f"R@{k} {order}"] = sum(p is not None and p <= k for p in found) / len(found)
        row["out of order before"] = unordered / len(queries)
        print(json.dumps(row, ensure_ascii=False), flush=True)
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", choices=("dev", "test"), default="test")
    parser.add_argument("--queries", type=int, default=300, help="queries per task")
    args = parser.parse_args()
    models = Path(os.environ.get("OFFLINE_MODELS_DIR", REPO / ".models"))
    inner = SentenceTransformerEmbeddings.load(str(models / "multilingual-e5-small"), device="cpu")
    rows = measure(CachedEmbeddings(inner, CACHE), args.split, args.queries)
    print("\n| task | R@1 before | R@1 now | R@5 before | R@5 now | lists out of order before |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        cells = [
            row["task"],
            *(f"{row[f'R@{k} {o}']:.3f}" for k in (1, 5) for o in ("before", "now")),
            f"{row['out of order before']:.3f}",
        ]
        print(f"| {' | '.join(cells)} |")
    record = {
        "benchmark": "source-order",
        "command": f"python -m benchmarks.source_order --split {args.split}",
        "machine": f"{os.cpu_count()} cores, CPU only",
        "date": datetime.date.today().isoformat(),
        "baseline": "relevance reorders the first five results less 0.25 per fused place",
        "results": rows,
    }
    text = json.dumps(record, ensure_ascii=False, indent=1) + "\n"
    atomic_write(REPO / "benchmarks" / "results" / "source-order.json", text.encode())


if __name__ == "__main__":
    main()

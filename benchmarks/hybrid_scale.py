"""Hybrid search at scale: whether the default retrieval mode stays fast with many chunks.

``scale.py`` measures the dense view alone. Hybrid, the default mode, also analyses the query
with Kiwi, scores BM25 postings, fills in each candidate's missing score (stored vectors for
keyword-only candidates, postings for dense-only ones), fuses and reads the winners from SQLite.
Its cost grows with posting-list lengths, so this benchmark uses real text: every chunk is a
real Korean or English sentence from ``../shared/datasets`` (KorQuAD and XQuAD contexts, both
sides of the news corpus), cycled to reach N chunks. Cycling repeats each sentence N / unique
times, which makes postings longer than a real corpus of the same size would have: a pessimistic
setting. Vectors are the synthetic clustered ones of ``scale.py`` (embedding 100k texts on this
machine would take hours and does not change search cost); queries are real KorQuAD and XQuAD
questions with random unit query vectors, so query embedding is excluded (see ``scale.py`` for
its cost). Dense-only search is timed in the same run as the baseline.

Every tenth document is restricted to group ``hr``, and each mode is timed for two callers: the
operator, who reads everything (BM25 statistics over every row, with weights precomputed once
per commit: the path every caller took before statistics followed access), and a public caller
(BM25 statistics over the 90% it may read, weights computed per query from the postings it
touches). The public caller's first BM25 query after opening is timed apart: it derives that
caller's statistics (cached per collection, commit and access set); its readable ids, which
every search mode needs and which are not new, are read by a dense search before the clock.

Usage::

    python -m benchmarks.hybrid_scale                      # 10k and 100k chunks
    python -m benchmarks.hybrid_scale --sizes 300000
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.scale import DIM, commit_synthetic, percentiles  # noqa: E402
from devkit.datasets import DATASETS  # noqa: E402

COLLECTION = "hybrid"
QUERIES = 300
REPEATS = 3
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def sentences() -> list[str]:
    """Every distinct sentence of the datasets (at least 20 characters), in a fixed order."""
    found: dict[str, None] = {}
    for name in ("KorQuAD_v1.0_dev.json", "xquad.en.json"):
        squad = json.loads((DATASETS / name).read_text(encoding="utf-8"))
        for article in squad["data"]:
            for paragraph in article["paragraphs"]:
                found.update(dict.fromkeys(_SENTENCE_END.split(paragraph["context"])))
    for path in sorted(DATASETS.glob("korean-english-park.*")):
        found.update(dict.fromkeys(path.read_text(encoding="utf-8").splitlines()))
    return [s.strip() for s in found if len(s.strip()) >= 20]


def questions() -> list[str]:
    """Real questions: Korean (KorQuAD) and English (XQuAD), two to one."""
    asked: dict[str, list[str]] = {}
    for name in ("KorQuAD_v1.0_dev.json", "xquad.en.json"):
        squad = json.loads((DATASETS / name).read_text(encoding="utf-8"))
        asked[name] = [
            qa["question"] for a in squad["data"] for p in a["paragraphs"] for qa in p["qas"]
        ]
    korean = QUERIES * 2 // 3
    return asked["KorQuAD_v1.0_dev.json"][:korean] + asked["xquad.en.json"][: QUERIES - korean]


def build(folder: Path, n: int, texts: list[str]) -> dict[str, Any]:
    from rag.store import Store

    started = time.perf_counter()
    with Store(folder) as store:
        store.ensure_collection(COLLECTION, "synthetic-384", DIM)
        commit_synthetic(store, COLLECTION, n, lambda i: texts[i % len(texts)], restricted_every=10)
        inserted = time.perf_counter() - started
        store.dense_view(COLLECTION)
        dense_done = time.perf_counter()
        store.sparse_view(COLLECTION)
        store.flush()
        sparse_done = time.perf_counter()
    bm25_bytes = sum(p.stat().st_size for p in (folder / "bm25").rglob("*") if p.is_file())
    return {
        "insert_s": inserted,
        "faiss_s": dense_done - started - inserted,
        "bm25_s": sparse_done - dense_done,
        "bm25_mb": bm25_bytes / 2**20,
    }


def measure(folder: Path, asked: list[str]) -> dict[str, Any]:
    from rag.access import OPERATOR, PUBLIC, Access
    from rag.retrieval.fusion import Fusion
    from rag.store import Store

    rng = np.random.default_rng(7)
    query_vectors = rng.standard_normal((len(asked), DIM)).astype(np.float32)
    query_vectors /= np.linalg.norm(query_vectors, axis=1, keepdims=True)
    pairs = list(zip(asked, query_vectors, strict=True))
    fusion = Fusion()
    started = time.perf_counter()
    with Store(folder) as store:
        store.dense_view(COLLECTION)
        store.sparse_view(COLLECTION)
        opened = time.perf_counter() - started
        store.keyword_search(COLLECTION, asked[0], 10, OPERATOR)  # derive the global weights
        store.search(COLLECTION, query_vectors[0], 10, PUBLIC)  # the caller's readable ids (SQL)
        first = time.perf_counter()
        store.keyword_search(COLLECTION, asked[1], 10, PUBLIC)
        first_public_ms = (time.perf_counter() - first) * 1000

        def modes(access: Access) -> dict[str, Callable[[tuple[str, np.ndarray]], Any]]:
            def hybrid(pair: tuple[str, np.ndarray]) -> Any:
                # What StoreRetriever.search does in hybrid mode, after embedding the query.
                found = store.candidates(COLLECTION, pair[0], pair[1], 50, access)
                ranked = fusion.fuse(found.dense, found.keyword, found.evidence)
                return store.hits(ranked[:10])

            return {
                "dense": lambda pair: store.search(COLLECTION, pair[1], 10, access),
                "bm25": lambda pair: store.keyword_search(COLLECTION, pair[0], 10, access),
                "hybrid": hybrid,
            }

        # Interleaved, query by query, so both callers meet the same moments of a shared CPU.
        searches = {
            (caller, name): search
            for caller, access in (("operator", OPERATOR), ("public", PUBLIC))
            for name, search in modes(access).items()
        }
        times: dict[tuple[str, str], list[float]] = {key: [] for key in searches}
        for _ in range(REPEATS):
            for pair in pairs:
                for key, search in searches.items():
                    started = time.perf_counter()
                    search(pair)
                    times[key].append(time.perf_counter() - started)
        latency: dict[str, dict[str, Any]] = {}
        for (caller, name), measured in times.items():
            latency.setdefault(caller, {})[name] = percentiles(measured)
    return {"open_s": opened, "first_public_bm25_ms": first_public_ms, "latency": latency}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    texts = sentences()
    asked = questions()
    print(f"{len(texts)} distinct sentences, {len(asked)} questions", flush=True)
    rows = []
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as work:
            built = build(Path(work), n, texts)
            measured = measure(Path(work), asked)
        row = {"n": n, **built, **measured}
        print(json.dumps(row), flush=True)
        rows.append(row)
    print("\n| N | build: insert / FAISS / BM25 s | BM25 view | open (warm) |"
          " first public BM25 query |")  # fmt: skip
    print("| --- | --- | --- | --- | --- |")
    for row in rows:
        cells = [
            f"{row['n']:,}",
            f"{row['insert_s']:.1f} / {row['faiss_s']:.1f} / {row['bm25_s']:.1f}",
            f"{row['bm25_mb']:.1f} MB",
            f"{row['open_s']:.2f} s",
            f"{row['first_public_bm25_ms']:.1f} ms",
        ]
        print("| " + " | ".join(cells) + " |")
    print("\n| N | caller | dense p50 / p95 | BM25 p50 / p95 | hybrid p50 / p95 |")
    print("| --- | --- | --- | --- | --- |")
    for row in rows:
        for caller, latency in row["latency"].items():
            cells = [
                f"{row['n']:,}",
                caller,
                *(
                    f"{latency[m]['p50_ms']:.1f} / {latency[m]['p95_ms']:.1f} ms"
                    for m in ("dense", "bm25", "hybrid")
                ),
            ]
            print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()

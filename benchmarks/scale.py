"""Scale: opening and searching 100k and 1M chunks, against LangChain's FAISS save/load.

For each size N, synthetic 384-d unit vectors (clustered like real embeddings: 2,000 Gaussian
topics) are written once into our store (SQLite, bulk commits of 100k chunks) and its FAISS
view is built (exact below ``index_exact_max``, IVF-Flat above), and into LangChain's
``FAISS.from_embeddings(..., distance_strategy=MAX_INNER_PRODUCT)`` + ``save_local``.

Then each system is opened in a fresh child process (so memory is its own), timed:

- open: ``Store(data_dir)`` + loading the collection's view, vs ``FAISS.load_local`` (which needs
  ``allow_dangerous_deserialization=True``: it unpickles the docstore, an arbitrary-code-execution
  path for anyone who can write the folder, which is exactly why our store never pickles);
- p50/p95 of single-query top-10 search, by vector (embedding excluded) and by text through the
  real multilingual-e5-small on one torch thread (embedding included), results with their texts;
- for ours also a caller who may not read 10% of the documents (the ACL bitmap inside the
  search) and recall@10 against exact search;
- RSS after open and after the queries (VmRSS), and peak RSS (VmHWM).

Usage::

    python benchmarks/scale.py                       # 100k and 1M (tens of minutes)
    python benchmarks/scale.py --sizes 100000 --output /tmp/scale.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

DIM = 384
CHUNKS_PER_DOCUMENT = 100
COMMIT_CHUNKS = 100_000
QUERIES = 300
TEXT_QUERIES = 50
COLLECTION = "scale"
ROOT = Path(__file__).resolve().parents[1]


def vectors(n: int, start: int = 0, seed: int = 0) -> np.ndarray:
    """Rows ``start .. start+n`` of the synthetic corpus (deterministic per row block)."""
    topics = np.random.default_rng(seed).standard_normal((2000, DIM)).astype(np.float32)
    rng = np.random.default_rng(seed + 1 + start)
    rows = topics[rng.integers(0, len(topics), n)] + 0.8 * rng.standard_normal((n, DIM)).astype(
        np.float32
    )
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def rss_mb(field: str = "VmRSS") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def text_of(i: int) -> str:
    return f"synthetic chunk {i}: 합성 문단 {i}"


# --- building (parent process) ---------------------------------------------------------------


def commit_synthetic(
    store: Any, collection: str, n: int, text_of: Callable[[int], str], restricted_every: int = 0
) -> None:
    """Commit ``n`` chunks with :func:`vectors`, 100 per document, in bulk commits.

    Every ``restricted_every``-th document (none when 0) is restricted to group ``hr``.
    """
    from rag.store import DocumentRecord, DocumentUpdate, NewChunk

    for start in range(0, n, COMMIT_CHUNKS):
        block = vectors(min(COMMIT_CHUNKS, n - start), start)
        updates = []
        for offset in range(0, len(block), CHUNKS_PER_DOCUMENT):
            first = start + offset
            doc = first // CHUNKS_PER_DOCUMENT
            restricted = restricted_every and doc % restricted_every == 0
            record = DocumentRecord(
                f"d{doc}", collection, f"/corpus/d{doc}.txt", str(doc), 1, 0.0,
                ("hr",) if restricted else (),
            )  # fmt: skip
            chunks = [
                NewChunk(f"c{first + j}", j, text_of(first + j), 8, block[offset + j])
                for j in range(min(CHUNKS_PER_DOCUMENT, len(block) - offset))
            ]
            updates.append(DocumentUpdate(record, chunks))
        store.commit(collection, updates)


def build_ours(folder: Path, n: int) -> dict[str, float]:
    from rag.store import Store

    started = time.perf_counter()
    with Store(folder) as store:
        store.ensure_collection(COLLECTION, "synthetic-384", DIM)
        # Every tenth document is restricted to "hr" (the filtered-search rows).
        commit_synthetic(store, COLLECTION, n, text_of, restricted_every=10)
        inserted = time.perf_counter() - started
        store.dense_view(COLLECTION)
        store.flush()
        kind = store.dense_view(COLLECTION).kind
    return {"insert_s": inserted, "index_s": time.perf_counter() - started - inserted, "kind": kind}


def build_langchain(folder: Path, n: int) -> dict[str, float]:
    from langchain_community.vectorstores import FAISS
    from langchain_community.vectorstores.utils import DistanceStrategy
    from langchain_core.embeddings import FakeEmbeddings

    started = time.perf_counter()
    pairs: list[tuple[str, list[float]]] = []
    metadatas = []
    for start in range(0, n, COMMIT_CHUNKS):
        block = vectors(min(COMMIT_CHUNKS, n - start), start)
        pairs.extend((text_of(start + j), row) for j, row in enumerate(block))
        metadatas.extend(
            {"source": f"/corpus/d{(start + j) // CHUNKS_PER_DOCUMENT}.txt"}
            for j in range(len(block))
        )
    store = FAISS.from_embeddings(
        pairs,
        FakeEmbeddings(size=DIM),
        metadatas=metadatas,
        distance_strategy=DistanceStrategy.MAX_INNER_PRODUCT,
    )
    store.save_local(str(folder))
    return {"build_s": time.perf_counter() - started}


# --- measuring (child process) ---------------------------------------------------------------


def percentiles(times: list[float]) -> dict[str, float]:
    ms = np.asarray(times) * 1000
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p95_ms": round(float(np.percentile(ms, 95)), 3),
    }


def timed(search: Callable[[Any], Any], inputs: list[Any]) -> tuple[dict[str, float], list[Any]]:
    search(inputs[0])  # warm-up
    times, results = [], []
    for item in inputs:
        started = time.perf_counter()
        results.append(search(item))
        times.append(time.perf_counter() - started)
    return percentiles(times), results


def child(system: str, folder: Path, queries_file: Path, model: str) -> dict[str, Any]:
    queries = np.load(queries_file)
    texts = [
        f"합성 문단 {i}에 대한 질문입니다 question about chunk {i}" for i in range(TEXT_QUERIES)
    ]
    before = rss_mb()
    from rag.embeddings import SentenceTransformerEmbeddings

    embedder = SentenceTransformerEmbeddings.load(model, device="cpu")
    # One query is too small to split across threads; on this shared 2-core machine two torch
    # threads made e5-small take 170-700 ms per query instead of ~60 ms. Same for both systems.
    import torch

    torch.set_num_threads(1)
    embedder.encode_query("warm up")
    model_mb = rss_mb() - before
    result: dict[str, Any] = {"system": system}
    if system == "ours":
        from rag.access import OPERATOR, PUBLIC
        from rag.store import Store

        started = time.perf_counter()
        store = Store(folder)
        store.dense_view(COLLECTION)
        result["open_s"] = time.perf_counter() - started
        result["rss_open_mb"] = rss_mb() - before - model_mb

        def by_vector(q: np.ndarray) -> list[str]:
            return [h.chunk.id for h in store.search(COLLECTION, q, 10, OPERATOR)]

        result["search"], found = timed(by_vector, list(queries))
        result["ids"] = [[int(c[1:]) for c in ids] for ids in found]
        result["search_filtered"], filtered = timed(
            lambda q: store.search(COLLECTION, q, 10, PUBLIC), list(queries)
        )
        result["filtered_leaks"] = sum(
            int(h.chunk.document_id[1:]) % 10 == 0 for hits in filtered for h in hits
        )
        result["search_text"], _ = timed(
            lambda t: store.search(COLLECTION, embedder.encode_query(t), 10, OPERATOR), texts
        )
    else:
        from langchain_community.vectorstores import FAISS

        started = time.perf_counter()
        index = FAISS.load_local(str(folder), embedder, allow_dangerous_deserialization=True)
        result["open_s"] = time.perf_counter() - started
        result["rss_open_mb"] = rss_mb() - before - model_mb

        def by_vector(q: np.ndarray) -> list[str]:
            return [d.page_content for d in index.similarity_search_by_vector(q.tolist(), k=10)]

        result["search"], found = timed(by_vector, list(queries))
        result["ids"] = [[int(t.split()[2].rstrip(":")) for t in texts_] for texts_ in found]
        result["search_text"], _ = timed(lambda t: index.similarity_search(t, k=10), texts)
    result["rss_after_mb"] = rss_mb() - before - model_mb
    result["peak_rss_mb"] = rss_mb("VmHWM")
    return result


def exact_top10(n: int, queries: np.ndarray) -> np.ndarray:
    best_scores = np.full((len(queries), 10), -np.inf, dtype=np.float32)
    best_ids = np.zeros((len(queries), 10), dtype=np.int64)
    for start in range(0, n, COMMIT_CHUNKS):
        block = vectors(min(COMMIT_CHUNKS, n - start), start)
        scores = queries @ block.T
        ids = np.broadcast_to(np.arange(start, start + len(block)), scores.shape)
        all_scores = np.concatenate([best_scores, scores], axis=1)
        all_ids = np.concatenate([best_ids, ids], axis=1)
        top = np.argsort(-all_scores, axis=1)[:, :10]
        best_scores = np.take_along_axis(all_scores, top, axis=1)
        best_ids = np.take_along_axis(all_ids, top, axis=1)
    return best_ids


def recall_at_10(found: list[list[int]], exact: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(e)) / 10 for f, e in zip(found, exact, strict=True)]))


def run_size(n: int, workdir: Path, model: str) -> list[dict[str, Any]]:
    # Queries: fresh draws from the corpus distribution (same topics, new noise).
    queries = vectors(QUERIES, start=10**9)
    queries_file = workdir / f"queries-{n}.npy"
    np.save(queries_file, queries.astype(np.float32))
    exact = exact_top10(n, queries)
    rows = []
    for system, build in (("ours", build_ours), ("langchain", build_langchain)):
        folder = workdir / f"{system}-{n}"
        built = build(folder, n)
        print(f"N={n} {system} built: {built}", flush=True)
        output = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                system,
                "--path",
                str(folder),
                "--queries",
                str(queries_file),
                "--model",
                model,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        measured = json.loads(output.strip().splitlines()[-1])
        measured["recall@10_vs_exact"] = round(recall_at_10(measured.pop("ids"), exact), 4)
        row = {"n": n, **built, **measured}
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--model", default=None, help="embedder folder for the text queries")
    parser.add_argument("--output", type=Path)
    parser.add_argument("--child", choices=("ours", "langchain"), help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--queries", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    default_model = Path(os.environ.get("OFFLINE_MODELS_DIR", "")) / "multilingual-e5-small"
    model = args.model or os.environ.get("BLLOSSOM_RAG_EMBEDDING_MODEL") or str(default_model)
    if args.child:
        print(json.dumps(child(args.child, args.path, args.queries, model)))
        return
    rows = []
    with tempfile.TemporaryDirectory(dir=os.environ.get("SCALE_TMP")) as workdir:
        for n in (int(s) for s in args.sizes.split(",")):
            rows.extend(run_size(n, Path(workdir), model))
    if args.output:
        args.output.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()

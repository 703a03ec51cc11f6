"""Parallel ingest: `--workers 1` and `--workers 2` against LangChain's DirectoryLoader, one run.

Corpus: KorQuAD 1.0 dev paragraphs (``$BLLOSSOM_RAG_SHARED/datasets``), the first ``--texts`` as
one ``.txt`` file each and the next ``--pdfs`` x ``--pages`` as PDFs of one paragraph per page
(Nanum Gothic, so the text layer is Korean). A page is a PDF page or a text file. Each system runs
in its own fresh process with the same offline embedder (ONNX, the default) loaded and warmed
before the clock starts:

- **ours, N workers**: what ``bllossom-rag ingest FOLDER --workers N`` runs (discovery, content
  checks, PDFs parsed in the isolated child, chunking, embedding, SQLite commits, the FAISS and
  BM25 views); with N > 1 the clock includes starting the worker processes and loading their
  embedders, as a user waits for it;
- **baseline**: LangChain's ``DirectoryLoader`` (``TextLoader`` for ``*.txt``,
  ``PyPDFium2Loader`` for ``*.pdf``), ``RecursiveCharacterTextSplitter`` sized to the same tokens
  through the corpus's characters per token, ``FAISS.from_documents`` and ``save_local``, with our
  embedder (a LangChain ``Embeddings``).

Rounds alternate the order because the machine is shared. Reported: median wall time, pages/s,
chunks/s.

Usage::

    python -m benchmarks.parallel_ingest --rounds 2 --json benchmarks/results/parallel_ingest.json
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if sys.path and Path(sys.path[0]).resolve() == ROOT / "benchmarks":
    sys.path[0] = str(ROOT)  # run as a script, this folder would shadow the ingest package

SYSTEMS = ("ours-1", "ours-2", "baseline")
LABELS = {
    "ours-1": "ours, --workers 1",
    "ours-2": "ours, --workers 2",
    "baseline": "LangChain DirectoryLoader + splitter + FAISS",
}
CHUNK_TOKENS, OVERLAP = 256, 32


def write_corpus(folder: Path, texts: int, pdfs: int, pages: int) -> int:
    """The files; returns how many pages they hold."""
    from fpdf import FPDF

    from devkit.corpus import NANUM
    from devkit.datasets import DATASETS

    squad = json.loads((DATASETS / "KorQuAD_v1.0_dev.json").read_text(encoding="utf-8"))
    contexts = [p["context"] for a in squad["data"] for p in a["paragraphs"]]
    for i, context in enumerate(contexts[:texts]):
        (folder / f"p{i:04d}.txt").write_text(context, encoding="utf-8")
    rest = iter(contexts[texts:])
    for i in range(pdfs):
        pdf = FPDF()
        pdf.add_font("Nanum", fname=str(NANUM))
        pdf.set_font("Nanum", size=10)
        for _ in range(pages):
            pdf.add_page()
            pdf.multi_cell(0, 6, next(rest))
        pdf.output(str(folder / f"d{i:03d}.pdf"))
    return texts + pdfs * pages


def run_ours(corpus: Path, work: Path, workers: int) -> dict[str, Any]:
    from ingest.discovery import find_files
    from rag.assistant import Assistant
    from rag.config.settings import load_settings
    from ui.cli.ingest_command import make_ingestor

    os.environ["BLLOSSOM_RAG_DATA_DIR"] = str(work / "store")
    assistant = Assistant(load_settings())
    assistant.embeddings_for("bench").encode_documents(["warm-up"])
    try:
        ingestor = make_ingestor(assistant, "bench", workers)
        started = time.perf_counter()
        report = ingestor.ingest(find_files([corpus]), collection="bench")
        seconds = time.perf_counter() - started
        assert not report.failed, report.failed
        chunks = sum(d.chunks for d in assistant.store.documents("bench"))
    finally:
        assistant.close()
    return {"seconds": seconds, "chunks": chunks}


def run_baseline(corpus: Path, work: Path) -> dict[str, Any]:
    from langchain_community.document_loaders import (
        DirectoryLoader,
        PyPDFium2Loader,
        TextLoader,
    )
    from langchain_community.vectorstores import FAISS
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from rag.assistant import Assistant
    from rag.config.settings import load_settings

    embedder = Assistant(load_settings()).embeddings_for("bench")
    embedder.encode_documents(["warm-up"])
    texts = [p.read_text(encoding="utf-8") for p in sorted(corpus.glob("*.txt"))]
    counted = embedder.tokenizer(texts, add_special_tokens=False)["input_ids"]
    per_token = sum(map(len, texts)) / sum(map(len, counted))
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=round(CHUNK_TOKENS * per_token), chunk_overlap=round(OVERLAP * per_token)
    )
    started = time.perf_counter()
    documents = [
        *DirectoryLoader(
            str(corpus), glob="*.txt", loader_cls=TextLoader, loader_kwargs={"encoding": "utf-8"}
        ).load(),
        *DirectoryLoader(str(corpus), glob="*.pdf", loader_cls=PyPDFium2Loader).load(),
    ]
    chunks = splitter.split_documents(documents)
    FAISS.from_documents(chunks, embedder).save_local(str(work / "faiss"))
    return {"seconds": time.perf_counter() - started, "chunks": len(chunks)}


def child(name: str, corpus: Path) -> None:
    import logging

    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory() as work:
        if name == "baseline":
            result = run_baseline(corpus, Path(work))
        else:
            result = run_ours(corpus, Path(work), int(name.split("-")[1]))
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--texts", type=int, default=160)
    parser.add_argument("--pdfs", type=int, default=40)
    parser.add_argument("--pages", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", type=Path, help="Also write the results here.")
    parser.add_argument("--child", choices=SYSTEMS, help=argparse.SUPPRESS)
    parser.add_argument("--corpus", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, Path(args.corpus))
        return
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in SYSTEMS}
    with tempfile.TemporaryDirectory() as folder:
        pages = write_corpus(Path(folder), args.texts, args.pdfs, args.pages)
        for round_number in range(args.rounds):
            for name in SYSTEMS if round_number % 2 == 0 else SYSTEMS[::-1]:
                command = [sys.executable, __file__, "--child", name, "--corpus", folder]
                done = subprocess.run(command, capture_output=True, text=True, check=False)
                if done.returncode != 0:
                    sys.exit(f"{name} failed:\n{done.stderr[-2000:]}")
                results[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
                run = results[name][-1]
                print(
                    f"round {round_number + 1} {name}: {run['seconds']:.1f} s",
                    f"{run['chunks']} chunks",
                )
    rows = []
    for name, runs in results.items():
        seconds = statistics.median(r["seconds"] for r in runs)
        chunks = runs[0]["chunks"]
        rows.append(
            {
                "system": LABELS[name],
                "wall s": round(seconds, 1),
                "pages": pages,
                "chunks": chunks,
                "pages/s": round(pages / seconds, 2),
                "chunks/s": round(chunks / seconds, 2),
            }
        )
    print(f"\n| {' | '.join(rows[0])} |\n| --- |{' ---: |' * (len(rows[0]) - 1)}")
    for row in rows:
        print(f"| {' | '.join(str(v) for v in row.values())} |")
    load = os.getloadavg()[0]
    print(f"\nload average at the end: {load:.1f}; {os.cpu_count()} CPUs")
    if args.json:
        command = "python -m benchmarks.parallel_ingest " + " ".join(sys.argv[1:])
        args.json.write_text(
            json.dumps(
                {
                    "benchmark": "parallel_ingest",
                    "command": command,
                    "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, load {load:.1f}",
                    "date": datetime.date.today().isoformat(),
                    "baseline": LABELS["baseline"],
                    "results": rows,
                },
                indent=2,
                ensure_ascii=False,
            )
            + "\n"
        )


if __name__ == "__main__":
    main()

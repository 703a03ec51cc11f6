"""kill -9 during a real ``bllossom-rag ingest``: the store stays at its last commit.

The command runs in a subprocess over a small KorQuAD corpus with tiny commit batches, so a
kill lands between commits, inside one, during embedding or during model loading. After each
kill the store is reopened: documents, chunks, their SQLite vectors and the FAISS view must
agree. A final rerun must finish the job with every file indexed exactly once.
"""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rag.store import Store
from tests.conftest import DATASETS

pytestmark = pytest.mark.slow

FILES = 10


def korquad_corpus(folder: Path) -> int:
    squad = json.loads((DATASETS / "KorQuAD_v1.0_dev.json").read_text(encoding="utf-8"))
    folder.mkdir()
    contexts = [p["context"] for a in squad["data"] for p in a["paragraphs"]][:FILES]
    for i, context in enumerate(contexts):
        (folder / f"p{i:03d}.txt").write_text(context, encoding="utf-8")
    return len(contexts)


def commits(database: Path) -> int:
    if not database.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM commits").fetchone()[0])
    except sqlite3.OperationalError:  # schema not created yet
        return 0


def check_consistent(data_dir: Path, note: str) -> tuple[int, int]:
    """Documents, chunks, SQLite vectors and FAISS agree; returns (documents, chunks)."""
    with Store(data_dir) as store:
        if not store.collections():
            return 0, 0
        database = store.database
        documents = store.documents("default")
        info = store.collection("default")
        chunk_ids = [c.id for d in documents for c in store.document_chunks("default", d.id)]
        assert len(chunk_ids) == len(set(chunk_ids)) == info.chunks, note
        assert all(d.chunks > 0 for d in documents), note  # no document without its chunks
        vector_ids = database.vector_ids("default")
        vectors = sum(len(ids) for ids, _ in database.iter_vectors("default", None, info.dimension))
        assert vectors == len(vector_ids) == info.chunks, note
        view = store.dense_view("default")
        assert len(view) == info.chunks, note
        assert np.array_equal(np.sort(view.ids()), np.sort(vector_ids)), note
        texts = [(d.id, c.text) for d in documents for c in store.document_chunks("default", d.id)]
        assert len(texts) == len(set(texts)), note  # no duplicated passage
        return len(documents), info.chunks


def test_kill_9_at_random_points_then_rerun(cli_env: dict[str, str], tmp_path: Path):
    files = korquad_corpus(tmp_path / "corpus")
    data_dir = Path(cli_env["BLLOSSOM_RAG_DATA_DIR"])
    env = {**cli_env, "BLLOSSOM_RAG_INGEST_BATCH_CHUNKS": "3", "BLLOSSOM_RAG_CHUNK_TOKENS": "128"}
    command = [sys.executable, "-m", "ui.cli", "ingest", str(tmp_path / "corpus"), "--json"]
    seed = int(time.time())
    rng = random.Random(seed)
    database = data_dir / "store.sqlite3"
    killed_after: list[int] = []
    for attempt in range(3):
        before = commits(database)
        # The first kill lands during start-up or the first commits, the others mid-run.
        target = before + (0 if attempt == 0 else rng.randint(1, 3))
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 120
        while commits(database) < target and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        # Land anywhere: while loading, mid-embedding, mid-commit, between commits.
        time.sleep(rng.uniform(0, 8.0) if attempt == 0 else rng.uniform(0, 0.4))
        process.send_signal(signal.SIGKILL)
        process.wait()
        killed_after.append(commits(database) - before)
        note = f"seed {seed}, kill {attempt + 1} after {killed_after[-1]} commits"
        documents, _ = check_consistent(data_dir, note)
        assert documents < files, f"{note}: the run finished before it was killed"

    rerun = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert rerun.returncode == 0, rerun.stderr
    report = json.loads(rerun.stdout)
    assert report["failed"] == []
    assert len(report["ingested"]) + len(report["unchanged"]) == files
    assert report["unchanged"], f"seed {seed}: nothing survived the kills ({killed_after})"
    documents, chunks = check_consistent(data_dir, f"seed {seed}, after the rerun")
    assert documents == files and chunks >= files

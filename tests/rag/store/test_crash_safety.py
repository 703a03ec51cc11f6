"""kill -9 at chosen points of a real ``bllossom-rag ingest``: the store stays at its last commit.

The command runs in a child process (:mod:`tests.support.crash_child`, forked by
:mod:`tests.support.forks`, so it does not import torch and the rest again) over a small KorQuAD
corpus with tiny commit batches, and kills itself with SIGKILL at a named point: inside a commit's
transaction, just after a commit, half-way through writing a view checkpoint, and between a view's
new files and its manifest. Each point is chosen, not hit by a random sleep, so each is tested on
every run. After the kill the store must be exactly at its last durable commit, with documents,
chunks, SQLite vectors and both views agreeing; a rerun must then finish the job with every file
indexed exactly once. The rerun is in-process (the command line through Typer's runner, its models
shared with the rest of the session): what it checks is the store a killed process left, not a
second cold start.
"""

from __future__ import annotations

import json
import signal
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from devkit.datasets import dataset
from devkit.models import REPO
from rag.store import Store
from tests.support.cli import Cli
from tests.support.crash_child import STAGES
from tests.support.forks import Forks

pytestmark = pytest.mark.slow

FILES = 6


def korquad_corpus(folder: Path) -> int:
    squad = json.loads((dataset("KorQuAD_v1.0_dev.json")).read_text(encoding="utf-8"))
    folder.mkdir()
    contexts = [p["context"] for a in squad["data"] for p in a["paragraphs"]][:FILES]
    for i, context in enumerate(contexts):
        (folder / f"p{i:03d}.txt").write_text(context, encoding="utf-8")
    return len(contexts)


def commits(database: Path) -> int:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM commits").fetchone()[0])


def check_consistent(data_dir: Path, note: str) -> set[str]:
    """Documents, chunks, SQLite vectors and both views agree; returns the document ids."""
    with Store(data_dir) as store:
        documents = store.documents("default")
        info = store.collection("default")
        chunks = [c for d in documents for c in store.document_chunks("default", d.id)]
        assert len({c.id for c in chunks}) == len(chunks) == info.chunks, note
        assert all(d.chunks > 0 for d in documents), note  # no document without its chunks
        texts = [(c.document_id, c.text) for c in chunks]
        assert len(texts) == len(set(texts)), note  # no duplicated passage
        vector_ids = np.sort(store.database.vector_ids("default"))
        stored = sum(len(ids) for ids, _ in store.database.iter_vectors("default", None, 384))
        assert stored == len(vector_ids) == info.chunks, note
        for view in (store.dense_view("default"), store.sparse_view("default")):
            assert np.array_equal(np.sort(view.ids()), vector_ids), note
        return {d.id for d in documents}


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.usefixtures("default_embeddings")  # the session's ONNX export, made before the child
def test_kill_9_at_a_chosen_point_then_rerun(
    cli_env: dict[str, str], cli: Cli, forks: Forks, tmp_path: Path, stage: str
):
    files = korquad_corpus(tmp_path / "corpus")
    data_dir = Path(cli_env["BLLOSSOM_RAG_DATA_DIR"])
    assert cli.data_dir == data_dir  # the rerun opens the store the killed process left
    small = {"BLLOSSOM_RAG_INGEST__BATCH_CHUNKS": "3", "BLLOSSOM_RAG_INGEST__CHUNK_TOKENS": "128"}
    env = {**cli_env, **small}
    ingest = ["ingest", str(tmp_path / "corpus"), "--json"]
    record = tmp_path / "killed.json"
    child = forks.start(
        "tests.support.crash_child",
        [stage, str(record), *ingest],
        env=env,
        cwd=REPO,
        output=tmp_path / "child",
    )
    killed = child.wait()
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    at = json.loads(record.read_text())

    if "folder" in at:  # evidence the kill landed mid-checkpoint, before reopening tidies up
        names = {p.name for p in Path(at["folder"]).iterdir()}
        if stage == "mid-checkpoint":
            assert any(name.startswith(".") and name.endswith(".tmp") for name in names)
        else:
            assert "manifest.json" not in names and len(names - {".lock"}) > 0
    assert commits(data_dir / "store.sqlite3") == at["commits"]  # exactly the durable commits
    present = check_consistent(data_dir, f"after the kill at {stage}")
    if stage == "mid-transaction":  # the commit in flight left nothing behind
        assert at["commits"] == 1 and not present & set(at["in_flight"])
    elif stage == "after-commit":  # the commit just made is all there, views or not
        assert at["commits"] == 2 and set(at["committed"]) <= present
    else:  # every file was committed before the final checkpoint
        assert len(present) == files

    rerun = cli(*ingest, **small)
    assert rerun.exit_code == 0, rerun.output[-2000:]
    report = json.loads(rerun.stdout)
    assert report["failed"] == []
    assert len(report["ingested"]) + len(report["unchanged"]) == files
    assert len(report["unchanged"]) == len(present)  # what survived the kill is not redone
    assert len(check_consistent(data_dir, f"after the rerun ({stage})")) == files

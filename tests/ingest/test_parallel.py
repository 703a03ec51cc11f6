"""``ingest --workers N``: worker processes parse and embed, the parent commits in order.

The store a parallel run leaves is the one a sequential run leaves: the same documents, chunks
and (to float precision) vectors; reruns skip what is unchanged, prune what is gone, and two
copies of a moved file never share its document however the workers split them.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from devkit import corpus
from ingest.parallel.wire import WireError, update_json, update_of
from rag.store import DocumentRecord, DocumentUpdate, NewChunk
from tests.support.cli import Cli

pytestmark = pytest.mark.slow  # worker processes load their own embedder


def _folder(root: Path) -> Path:
    corpus.good_corpus(root)
    shutil.copytree(Path(__file__).parents[2] / "examples", root / "examples")
    return root


def _contents(data_dir: Path) -> dict[str, list[tuple[str, str, str, bytes]]]:
    """Each document's chunks by path: id, heading, text and vector bytes, in order."""
    with sqlite3.connect(data_dir / "store.sqlite3") as db:
        rows = db.execute(
            "SELECT d.source_path, c.id, c.heading, c.text, c.vector FROM chunks c "
            "JOIN documents d ON d.id = c.document_id AND d.collection = c.collection "
            "ORDER BY d.source_path, c.ordinal"
        ).fetchall()
    contents: dict[str, list[tuple[str, str, str, bytes]]] = {}
    for path, *chunk in rows:
        contents.setdefault(path, []).append(tuple(chunk))  # type: ignore[arg-type]
    return contents


def test_parallel_ingest_leaves_the_sequential_store(cli: Cli, tmp_path: Path):
    folder = _folder(tmp_path / "docs")
    sequential = cli.json("ingest", str(folder), BLLOSSOM_RAG_DATA_DIR=str(tmp_path / "seq"))
    parallel = cli.json("ingest", str(folder), "--workers", "2")

    assert parallel["chunks_embedded"] == sequential["chunks_embedded"] > 0
    for key in ("ingested", "failed", "skipped", "notices"):
        assert sorted(map(str, parallel[key])) == sorted(map(str, sequential[key])), key
    expected, got = _contents(tmp_path / "seq"), _contents(cli.data_dir)
    assert sorted(got) == sorted(expected)
    for path, chunks in expected.items():
        assert [c[:3] for c in got[path]] == [c[:3] for c in chunks], path
        for mine, theirs in zip(got[path], chunks, strict=True):
            vectors = np.frombuffer(mine[3], np.float32), np.frombuffer(theirs[3], np.float32)
            assert np.allclose(*vectors, atol=1e-4), path

    again = cli.json("ingest", str(folder), "--workers", "2")
    assert again["ingested"] == [] and again["chunks_embedded"] == 0
    assert len(again["unchanged"]) == len(sequential["ingested"])

    changed = folder / "examples" / "handbook" / "휴가_정책.md"
    changed.write_text(
        changed.read_text(encoding="utf-8") + "\n\n## 추가\n\n반차는 오전과 오후로 나뉜다.\n",
        encoding="utf-8",
    )
    gone = folder / "제품.html"
    gone.unlink()
    pruned = cli.json("ingest", str(folder), "--workers", "2", "--prune")
    assert pruned["ingested"] == [str(changed.resolve())]
    assert pruned["pruned"] == [str(gone.resolve())]
    assert 0 < pruned["chunks_embedded"] < len(_contents(cli.data_dir)[str(changed.resolve())])


def test_copies_of_a_moved_file_never_share_its_document(cli: Cli, tmp_path: Path):
    folder = tmp_path / "docs"
    (folder / "old").mkdir(parents=True)
    original = corpus.korean_docx(folder / "old" / "규정.docx")
    cli.json("ingest", str(folder))
    (folder / "a").mkdir()
    (folder / "b").mkdir()
    shutil.copy(original, folder / "a" / "규정.docx")
    shutil.move(original, folder / "b" / "규정.docx")

    report = cli.json("ingest", str(folder), "--workers", "2", "--prune")

    assert sorted(report["ingested"]) == sorted(
        str((folder / part / "규정.docx").resolve()) for part in ("a", "b")
    )
    assert report["pruned"] == []  # the old document moved: it was taken over, not removed
    with sqlite3.connect(cli.data_dir / "store.sqlite3") as db:
        paths = [row[0] for row in db.execute("SELECT source_path FROM documents")]
    assert sorted(paths) == sorted(report["ingested"])


def test_a_worker_answer_is_checked_before_it_is_committed():
    record = DocumentRecord("d1", "wiki", "/srv/a.md", "sha", 10, 1.0, groups=("hr",))
    chunk = NewChunk("c1", 0, "본문", 2, np.ones(4, np.float32), heading="제목")
    sent = update_json(DocumentUpdate(record, [chunk]))

    received = update_of(sent, "wiki", 4)
    assert received.document == record
    assert received.chunks[0].text == "본문" and received.chunks[0].vector.tolist() == [1.0] * 4

    with pytest.raises(WireError, match="another collection"):
        update_of(sent, "other", 4)
    with pytest.raises(WireError, match="vector of 4 values where the embedder makes 8"):
        update_of(sent, "wiki", 8)
    sent["chunks"][0]["kind"] = "pickle"
    with pytest.raises(WireError, match="kind 'pickle'"):
        update_of(sent, "wiki", 4)

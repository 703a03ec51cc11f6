"""A full disk, for real: a store on an 8 MB tmpfs, filled to the last byte by a file beside it.

The ingest that finds no space ends in one line naming the folder, the store keeps what it held,
reads keep working while the disk is full (in this process, and in a fresh process that must
open the store without room for SQLite's shared-memory file; an answer whose audit entry cannot
be stored logs it), and once the file is removed the same ingest goes in and the fresh process
reads the ordinary way again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from devkit.models import REPO, command_environment
from ingest.pipeline import Ingestor
from rag.access import OPERATOR
from rag.errors import StoreError
from rag.store import Store
from tests.support.cli import Cli

# A fresh process: open the store, search it by a stored vector, close it (saving the views).
READER = """
import json, sys
from pathlib import Path
from rag.access import OPERATOR
from rag.store import Store
from tests.support.cli import Cli
store = Store(Path(sys.argv[1]))
[document, *_] = store.documents("default")
vector = next(iter(store.document_vectors("default", document.id).values()))
hits = store.search("default", vector, 5, OPERATOR)
read_only = store.database.read_only
store.close()
print(json.dumps({"read_only": read_only, "hits": sorted(h.chunk.source_path for h in hits)}))
"""


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """An 8 MB tmpfs of this test's own (the tests run as root, which may mount)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(disk)], check=True)
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=True)


def fill(disk: Path) -> Path:
    """Write a file until the disk has no byte left; return it."""
    filler = disk / "filler"
    with filler.open("wb") as sink:
        try:
            while True:
                sink.write(bytes(64 << 10))
                sink.flush()
        except OSError:
            pass
    assert os.statvfs(disk).f_bavail == 0
    return filler


def ingestor_of(store: Store, embeddings) -> Ingestor:
    return Ingestor(store, embeddings, chunk_tokens=64, chunk_overlap=8, max_file_bytes=1 << 20)


def read_in_a_fresh_process(data_dir: Path) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-c", READER, str(data_dir)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


def test_a_full_disk_is_one_line_loses_nothing_and_reads_go_on(
    small_disk: Path, embeddings, tmp_path: Path
):
    data_dir = small_disk / "data"
    first, second = tmp_path / "first", tmp_path / "second"
    for folder, text in ((first, "연차 휴가는 11일입니다."), (second, "출장비는 5만원입니다.")):
        folder.mkdir()
        (folder / "note.txt").write_text(text * 200, encoding="utf-8")
    store = Store(data_dir)
    ingestor = ingestor_of(store, embeddings)
    ingestor.ingest([first], collection="default")
    before = [d.source_path for d in store.documents("default")]
    chunks_before = sum(len(store.document_chunks("default", d)) for d in _ids(store))
    filler = fill(small_disk)

    with pytest.raises(StoreError) as failure:
        ingestor.ingest([second], collection="default")
    assert str(failure.value) == (
        f"no space left on the disk holding {data_dir}: free some space, then try again "
        "(the store is unchanged; what was ingested before is kept)"
    )
    assert [d.source_path for d in store.documents("default")] == before
    assert sum(len(store.document_chunks("default", d)) for d in _ids(store)) == chunks_before
    vector = next(iter(store.document_vectors("default", _ids(store)[0]).values()))
    assert store.search("default", vector, 3, OPERATOR)  # reads in the ingesting process
    store.close()  # its views cannot be saved: they stay unsaved, the store is still whole

    full = read_in_a_fresh_process(data_dir)
    assert full["read_only"] is True
    assert full["hits"] and set(full["hits"]) == {str(first / "note.txt")}

    filler.unlink()
    with Store(data_dir) as reopened:
        assert [d.source_path for d in reopened.documents("default")] == before
        report = ingestor_of(reopened, embeddings).ingest([first, second], collection="default")
        assert report.ingested == [str(second / "note.txt")]
        assert not reopened.database.read_only
    freed = read_in_a_fresh_process(data_dir)
    assert freed["read_only"] is False
    assert str(first / "note.txt") in freed["hits"]


def test_a_process_that_opened_the_store_on_a_full_disk_writes_again_once_there_is_space(
    small_disk: Path, embeddings, tmp_path: Path
):
    data_dir = small_disk / "data"
    folder = tmp_path / "share"
    folder.mkdir()
    (folder / "a.txt").write_text("회의실 예약은 사내 포털에서 합니다.", encoding="utf-8")
    with Store(data_dir) as store:
        ingestor_of(store, embeddings).ingest([folder], collection="default")
    filler = fill(small_disk)
    with Store(data_dir) as store:
        assert store.database.read_only
        (folder / "b.txt").write_text("주차권은 안내 데스크에서 받습니다.", encoding="utf-8")
        ingestor = ingestor_of(store, embeddings)
        with pytest.raises(StoreError, match=r"^no space left on the disk holding "):
            ingestor.ingest([folder], collection="default")
        filler.unlink()
        report = ingestor.ingest([folder], collection="default")
        assert report.ingested == [str(folder / "b.txt")]
        assert not store.database.read_only
        assert len(store.documents("default")) == 2


def _ids(store: Store) -> list[str]:
    return [d.id for d in store.documents("default")]


def test_the_command_line_says_it_in_one_line_and_still_answers(
    small_disk: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    data_dir = small_disk / "data"
    cli = Cli(
        {**command_environment(data_dir), "BLLOSSOM_RAG_GENERATION__SCRIPTED_ANSWER": "{1} [1]"}
    )
    folder = tmp_path / "share"
    folder.mkdir()
    (folder / "a.txt").write_text("회의실 예약은 사내 포털에서 합니다.", encoding="utf-8")
    assert cli("ingest", str(folder)).exit_code == 0
    (folder / "b.txt").write_text("주차권은 안내 데스크에서 받습니다.", encoding="utf-8")
    fill(small_disk)
    failed = cli("ingest", str(folder))
    assert failed.exit_code == 1
    assert failed.output.strip().splitlines() == [
        f"Error: no space left on the disk holding {data_dir}: free some space, then try "
        "again (the store is unchanged; what was ingested before is kept)"
    ]
    answer = cli.json("ask", "회의실은 어디서 예약하나요?")
    assert [Path(s["source"]).name for s in answer["sources"]] == ["a.txt"]
    # the answer's audit entry could not be stored: it is in the log, whole
    messages = [record.getMessage() for record in caplog.records]
    [logged] = [message for message in messages if "audit entry not stored" in message]
    assert '"question": "회의실은 어디서 예약하나요?"' in logged

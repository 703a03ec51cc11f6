"""Uploads (:mod:`ingest.uploads`): saved before committed, stoppable anywhere, captions kept.

A web page left mid-upload stops the run at its next progress call (Streamlit raises there).
Each test run is stopped at every progress call in turn, and the store must then hold exactly
the documents whose uploaded files are in place, byte for byte.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Sequence
from pathlib import Path

import pytest
from PIL import Image

from ingest.pipeline import Ingestor
from ingest.report import IngestProgress
from ingest.uploads import CAPTION_UNUSED, STAGING_PREFIX, Uploads, _placed, collection_uploads
from rag.access import OPERATOR
from rag.config import Settings
from rag.errors import CollectionNotFoundError
from rag.store import Store

FILES = [
    (f"문서{number}.md", f"# 규정 {number}\n\n{number}번 규정은 매주 월요일에 바뀝니다.".encode())
    for number in range(3)
]


class PageLeft(BaseException):
    """What Streamlit raises in a progress call once the user has left the page."""


def uploads_in(data: Path, store: Store, embeddings) -> Uploads:
    # one chunk per commit: several commits, and progress calls between them
    settings = Settings(data_dir=data, ingest={"batch_chunks": 1})
    return Uploads(store, data, lambda: Ingestor.from_settings(settings, store, embeddings))


def upload(uploads: Uploads, files: Sequence[tuple[str, bytes]], on_progress=None):
    return uploads.ingest(
        files, collection="default", groups=(), access=OPERATOR, on_progress=on_progress
    )


def documents_and_files(store: Store, data: Path) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """The uploaded files each document records, and the files in the uploads folder."""
    try:
        documents = store.documents("default")
    except CollectionNotFoundError:
        documents = []
    recorded = {
        d.source_path: Path(d.source_path).read_bytes() if Path(d.source_path).exists() else b""
        for d in documents
    }
    folder = collection_uploads(data, "default")
    on_disk = {
        str(path): path.read_bytes()
        for path in (folder.rglob("*") if folder.exists() else [])
        if path.is_file()
        and path.name != ".lock"  # the uploads lock, not an upload
        and not any(part.startswith(STAGING_PREFIX) for part in path.parts)
    }
    return recorded, on_disk


def test_progress_says_each_stage_in_order(tmp_path: Path, embeddings):
    seen: list[IngestProgress] = []
    with Store(tmp_path / "data") as store:
        upload(uploads_in(tmp_path / "data", store, embeddings), FILES, seen.append)
    stages = [update.stage for update in seen]
    assert stages[0] == "saving" and stages[-2:] == ["indexing", "done"]
    assert stages.count("committing") == stages.count("embedding") >= len(FILES)
    for before, after in itertools.pairwise(stages):
        if after == "committing":
            assert before == "embedding"  # a commit follows its embedding, nothing between
    # never "3/3 files" while a later file is still to be read
    reading = [u.files_done for u in seen if u.stage == "reading"]
    assert reading == sorted(reading) and reading[-1] == len(FILES)


def test_a_run_stopped_at_any_step_leaves_every_document_with_its_file(tmp_path: Path, embeddings):
    calls: list[IngestProgress] = []
    with Store(tmp_path / "full") as store:
        upload(uploads_in(tmp_path / "full", store, embeddings), FILES, calls.append)
    sent = {name: data for name, data in FILES}
    for stop_at in range(len(calls)):
        data = tmp_path / f"stopped-{stop_at}"
        count = 0

        def leave(update: IngestProgress, stop_at: int = stop_at) -> None:
            nonlocal count
            count += 1
            if count > stop_at:
                raise PageLeft(update.stage)

        with Store(data) as store:
            with pytest.raises(PageLeft):
                upload(uploads_in(data, store, embeddings), FILES, leave)
            recorded, on_disk = documents_and_files(store, data)
        assert recorded == on_disk, f"stopped at call {stop_at} ({calls[stop_at].stage})"
        for path, content in recorded.items():
            assert content == sent[Path(path).name]
    # stopped after the last commit, every document is there with its file
    assert len(recorded) == len(FILES)


def test_files_written_for_a_commit_are_put_back_when_it_fails(tmp_path: Path):
    kept = tmp_path / "kept.md"
    kept.write_bytes(b"the old text")
    new = tmp_path / "new.md"
    sent = {"kept.md": ("kept.md", b"the new text"), "new.md": ("new.md", b"new")}
    with pytest.raises(RuntimeError), _placed([str(kept), str(new)], sent):
        assert kept.read_bytes() == b"the new text" and new.read_bytes() == b"new"
        raise RuntimeError("the commit failed")
    assert kept.read_bytes() == b"the old text" and not new.exists()
    with _placed([str(kept)], sent):
        pass
    assert kept.read_bytes() == b"the new text"


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (120, 80), (200, 40, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_caption_file_uploaded_with_its_image_is_applied_not_failed(tmp_path: Path, embeddings):
    caption = "빨간 사각형: 2025년 안전 표지".encode()
    data = tmp_path / "data"
    with Store(data) as store:
        results = upload(
            uploads_in(data, store, embeddings),
            [
                ("표지.png", png()),
                ("표지.png.txt", caption),
                ("깨짐.png", b"\x89PNG broken"),
                ("깨짐.png.txt", b"unused"),
            ],
        )
        by_name = {r.name: r for r in results}
        assert by_name["표지.png"].status == "ingested"
        assert by_name["표지.png.txt"].status == "ingested"
        assert by_name["표지.png.txt"].caption_of == "표지.png"
        assert by_name["깨짐.png"].status == "failed"
        unused = by_name["깨짐.png.txt"]
        assert unused.status == "failed" and unused.error.template == CAPTION_UNUSED
        (document,) = store.documents("default")
        chunks = store.document_chunks("default", document.id)
        assert any("안전 표지" in chunk.text for chunk in chunks)
        recorded, on_disk = documents_and_files(store, data)
    assert sorted(Path(path).name for path in on_disk) == ["표지.png", "표지.png.txt"]
    assert set(recorded) < set(on_disk)

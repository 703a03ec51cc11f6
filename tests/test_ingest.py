"""Ingestion: incremental, idempotent, one clear result per file."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.pipeline import Ingestor, IngestProgress
from rag.store import Store


@pytest.fixture
def ingestor(store: Store, embeddings) -> Ingestor:
    return Ingestor(store, embeddings, chunk_tokens=64, chunk_overlap=8, max_file_bytes=100_000)


def test_ingest_then_rerun_embeds_nothing(ingestor: Ingestor, examples_copy: Path):
    first = ingestor.ingest([examples_copy], collection="default")
    assert len(first.ingested) == 5 and not first.failed
    assert first.chunks_embedded > 5
    second = ingestor.ingest([examples_copy], collection="default")
    assert second.chunks_embedded == 0
    assert sorted(second.unchanged) == sorted(first.ingested)
    info = ingestor.store.collection("default")
    assert (info.documents, info.chunks) == (5, first.chunks_embedded)


def test_changed_file_reembeds_only_new_chunks(ingestor: Ingestor, examples_copy: Path):
    ingestor.ingest([examples_copy], collection="default")
    target = examples_copy / "handbook" / "security-policy.md"
    before = ingestor.store.find_documents("default", str(target))[0]
    target.write_text(target.read_text() + "\n## New rule\nBadges must be worn at all times.\n")
    report = ingestor.ingest([examples_copy], collection="default")
    assert report.ingested == [str(target.resolve())]
    assert 0 < report.chunks_embedded < before.chunks
    assert report.chunks_reused > 0
    hits = ingestor.store.search(
        "default", ingestor.embeddings.encode_query("Do I need to wear my badge?"), k=1
    )
    assert "Badges must be worn" in hits[0].chunk.text


def test_bad_files_fail_alone_with_reasons(ingestor: Ingestor, tmp_path: Path):
    root = tmp_path / "mixed"
    root.mkdir()
    (root / "good.md").write_text("# 좋은 문서\n이 문서는 정상입니다.", encoding="utf-8")
    (root / "empty.txt").write_bytes(b"")
    (root / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    (root / "binary.txt").write_bytes(b"\x00\x01\x02 hello")
    (root / "huge.txt").write_text("a" * 200_000)
    (root / "ignored.xyz").write_text("not ingested")
    outside = tmp_path / "secret.txt"
    outside.write_text("top secret")
    (root / "escape.txt").symlink_to(outside)
    report = ingestor.ingest([root, tmp_path / "missing.md"], collection="default")
    assert report.ingested == [str((root / "good.md").resolve())]
    reasons = {Path(f.path).name: f.error for f in report.failed}
    assert reasons["empty.txt"] == "file is empty"
    assert "unknown text encoding" in reasons["latin1.txt"]
    assert "NUL" in reasons["binary.txt"]
    assert "limit" in reasons["huge.txt"]
    assert "symlink leaves" in reasons["escape.txt"]
    assert reasons["missing.md"] == "no such file or directory"
    assert "ignored.xyz" not in reasons
    texts = [c.text for c in ingestor.store.database.document_chunks("default", "x")]
    assert texts == []
    assert all("top secret" not in d.source_path for d in ingestor.store.documents("default"))


def test_progress_reports_every_file(ingestor: Ingestor, examples_copy: Path):
    seen: list[IngestProgress] = []
    ingestor.ingest([examples_copy], collection="default", on_progress=seen.append)
    assert seen[-1].files_done == seen[-1].files_total == 5
    assert seen[-1].chunks_embedded > 0


def test_groups_change_rewrites_without_embedding(ingestor: Ingestor, examples_copy: Path):
    ingestor.ingest([examples_copy], collection="default")
    report = ingestor.ingest([examples_copy], collection="default", groups=["hr"])
    assert len(report.ingested) == 5 and report.chunks_embedded == 0
    assert {d.groups for d in ingestor.store.documents("default")} == {("hr",)}

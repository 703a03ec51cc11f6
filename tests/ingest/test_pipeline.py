"""Ingestion: incremental, idempotent, one clear result per file."""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import docx as docx_lib
import pytest

from devkit import corpus as corpus
from ingest.captions import Captioner
from ingest.file_limits import Limits
from ingest.pipeline import Ingestor
from ingest.report import IngestProgress
from rag.retrieval.retriever import hit_to_document
from rag.store import Store

logging.getLogger("fontTools").setLevel(logging.ERROR)


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
    report = ingestor.ingest([root], collection="default")
    good = str((root / "good.md").resolve())
    assert report.ingested == [good]
    reasons = {Path(f.path).name: f.error for f in report.failed}
    assert reasons["empty.txt"] == "file is empty"
    assert "unknown text encoding" in reasons["latin1.txt"]
    assert "NUL" in reasons["binary.txt"]
    assert "limit" in reasons["huge.txt"]
    assert "symlink leaves" in reasons["escape.txt"]
    assert set(reasons) == {"empty.txt", "latin1.txt", "binary.txt", "huge.txt", "escape.txt"}
    # failed files leave nothing in the store: every chunk it holds is good.md's
    store = ingestor.store
    [document] = store.documents("default")
    assert document.source_path == good
    chunks = store.document_chunks("default", document.id)
    assert store.collection("default").chunks == len(chunks) == document.chunks > 0
    assert all("정상" in c.text or "좋은 문서" in c.text for c in chunks)


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


# --- every format, hostile files, captions, incremental updates --------------------------------

HOSTILE_REASONS = {
    "zero.pdf": "file is empty",
    "truncated.pdf": "broken or truncated PDF",
    "bomb.png": "image is too large to decode safely (Image size (900000000 pixels)",
    "random.pdf": "not a PDF: no %PDF- header",
    "really-png.pdf": "content is a PNG image, not a PDF document",
    "one-line.txt": "more than 5,000 chunks (ingest.max_chunks_per_file)",
    "escape.txt": "symlink leaves the ingested folder",
}


@pytest.fixture
def full_ingestor(store: Store, embeddings) -> Ingestor:
    """Default limits (the hostile files must fail under the limits a user really gets)."""
    return Ingestor(
        store, embeddings, chunk_tokens=256, chunk_overlap=32, max_file_bytes=50 * 1024 * 1024
    )


def chunks_of(store: Store, path: Path) -> list:
    [document] = store.find_documents("default", str(path))
    return store.document_chunks("default", document.id)


def test_every_format_ingests_and_each_hostile_file_fails_alone(
    full_ingestor: Ingestor, tmp_path: Path
):
    good = corpus.good_corpus(tmp_path / "good")
    corpus.hostile_corpus(tmp_path / "hostile", tmp_path / "secret.txt", good["pdf"])
    store = full_ingestor.store
    report = full_ingestor.ingest([tmp_path / "good", tmp_path / "hostile"], collection="default")

    assert sorted(report.ingested) == sorted(str(p.resolve()) for p in good.values())
    reasons = {Path(f.path).name: f.error for f in report.failed}
    assert set(reasons) == set(HOSTILE_REASONS)
    for name, reason in HOSTILE_REASONS.items():
        assert reason in reasons[name], (name, reasons[name])
        assert "\n" not in reasons[name]
    assert "opening.png.txt" not in {Path(d.source_path).name for d in store.documents("default")}

    pdf = chunks_of(store, good["pdf"])
    assert [(c.kind, c.page) for c in pdf] == [("text", 1), ("image", 1), ("text", 2)]
    assert corpus.KOREAN_PDF_TEXT in pdf[0].text
    assert pdf[1].text == corpus.PDF_FIGURE_CAPTION
    [docx_image] = [c for c in chunks_of(store, good["docx"]) if c.kind == "image"]
    assert docx_image.text == f"{corpus.DOCX_ALT}\n{corpus.DOCX_CAPTION}"
    [sidecar_image] = chunks_of(store, good["image"])
    assert sidecar_image.text == corpus.SIDECAR_CAPTION
    [photo] = chunks_of(store, good["photo"])
    assert photo.text == "photo.jpg"
    assert store.images.open(photo.image_sha256).size == (30, 60)  # stored upright
    html_text = " ".join(c.text for c in chunks_of(store, good["html"]))
    assert "팀 협업" in html_text and "스크립트" not in html_text
    assert "오전 11시 30분" in chunks_of(store, good["cp949"])[0].text

    vector = full_ingestor.embeddings.encode_query("분기별 매출 추이 그래프")
    hits = [h for h in store.search("default", vector, k=10) if h.chunk.kind == "image"]
    document = hit_to_document(hits[0], store.images)
    assert document.metadata["kind"] == "image"
    assert Path(document.metadata["image_path"]).is_file()
    assert Path(document.metadata["thumbnail_path"]).is_file()
    assert any(h.chunk.id == pdf[1].id for h in hits)

    again = full_ingestor.ingest([tmp_path / "good"], collection="default")
    assert again.chunks_embedded == 0 and sorted(again.unchanged) == sorted(report.ingested)


def test_sidecar_edit_reingests_its_image(ingestor: Ingestor, tmp_path: Path):
    folder = tmp_path / "images"
    folder.mkdir()
    corpus.chart().save(folder / "chart.png")
    (folder / "chart.png.txt").write_text("2023년 매출", encoding="utf-8")
    ingestor.ingest([folder], collection="default")
    (folder / "chart.png.txt").write_text("2024년 매출 차트", encoding="utf-8")
    report = ingestor.ingest([folder], collection="default")
    assert report.ingested == [str((folder / "chart.png").resolve())]
    assert [c.text for c in chunks_of(ingestor.store, folder / "chart.png")] == ["2024년 매출 차트"]


def stored_images(store: Store) -> set[str]:
    return {path.stem for path in store.images.root.glob("[0-9a-f][0-9a-f]/*.png")}


def test_images_are_deleted_with_the_last_document_that_uses_them(
    ingestor: Ingestor, tmp_path: Path
):
    folder = tmp_path / "images"
    folder.mkdir()
    corpus.chart("red").save(folder / "logo.png")
    corpus.chart("red").save(folder / "logo-copy.png")  # same pixels: one stored file
    corpus.chart("blue").save(folder / "chart.png")
    ingestor.ingest([folder], collection="default")
    store = ingestor.store
    logo = chunks_of(store, folder / "logo.png")[0].image_sha256
    chart = chunks_of(store, folder / "chart.png")[0].image_sha256
    assert stored_images(store) == {logo, chart}

    corpus.chart("green").save(folder / "chart.png")  # a changed file replaces its image
    ingestor.ingest([folder], collection="default")
    green = chunks_of(store, folder / "chart.png")[0].image_sha256
    assert stored_images(store) == {logo, green}
    assert not store.images.thumbnail_path(chart).exists()

    [first] = store.find_documents("default", str(folder / "logo.png"))
    store.remove_documents("default", [first.id])
    assert stored_images(store) == {logo, green}  # the copy still uses it
    [copy] = store.find_documents("default", str(folder / "logo-copy.png"))
    store.remove_documents("default", [copy.id])
    assert stored_images(store) == {green}
    assert not store.images.thumbnail_path(logo).exists()


def test_no_image_is_swept_while_an_ingest_may_be_storing(ingestor: Ingestor, tmp_path: Path):
    store = ingestor.store
    orphan = store.images.put(corpus.chart("purple"))  # stored, its commit still to come
    leftover = store.images.path(orphan).with_name(".crashed.png.123.tmp")
    leftover.write_bytes(b"half an image")
    with Store(store.data_dir) as other_process, other_process.images.in_use():
        assert store.collect_garbage() is None
        assert store.images.path(orphan).exists() and leftover.exists()
    assert store.collect_garbage() == 1
    assert not store.images.path(orphan).exists() and not leftover.exists()


def test_prune_removes_only_documents_whose_files_are_gone(ingestor: Ingestor, tmp_path: Path):
    kept, other = tmp_path / "kept", tmp_path / "other"
    for folder in (kept, other):
        folder.mkdir()
        (folder / "a.md").write_text(f"# {folder.name} A\n첫 번째 문서입니다.", encoding="utf-8")
        (folder / "b.md").write_text(f"# {folder.name} B\n두 번째 문서입니다.", encoding="utf-8")
    ingestor.ingest([kept, other], collection="default")
    (kept / "b.md").unlink()
    (other / "b.md").unlink()

    plain = ingestor.ingest([kept], collection="default")
    assert plain.pruned == [] and ingestor.store.collection("default").documents == 4

    pruned = ingestor.ingest([kept], collection="default", prune=True)
    assert pruned.pruned == [str((kept / "b.md").resolve())]
    assert pruned.unchanged == [str((kept / "a.md").resolve())]
    left = sorted(Path(d.source_path).relative_to(tmp_path).as_posix() for d in
                  ingestor.store.documents("default"))  # fmt: skip
    assert left == ["kept/a.md", "other/a.md", "other/b.md"]  # outside the root: untouched


def test_generator_captions_images_once(store: Store, embeddings, chat_model, tmp_path: Path):
    from langchain_core.callbacks import BaseCallbackHandler

    class CountCalls(BaseCallbackHandler):
        calls = 0

        def on_chat_model_start(self, *args, **kwargs) -> None:
            CountCalls.calls += 1

    captioner = Captioner(chat_model.with_config(callbacks=[CountCalls()]))
    captioning = Ingestor(
        store, embeddings, chunk_tokens=128, chunk_overlap=16, max_file_bytes=10**7,
        captioner=captioner,
    )  # fmt: skip
    folder = tmp_path / "docs"
    folder.mkdir()
    corpus.chart().save(folder / "chart.png")
    (folder / "chart.png.txt").write_text(corpus.SIDECAR_CAPTION, encoding="utf-8")
    docx = corpus.korean_docx(folder / "규정.docx")

    first = captioning.ingest([folder], collection="default")
    assert len(first.ingested) == 2 and CountCalls.calls == 4  # Korean + English, two images
    [image] = chunks_of(store, folder / "chart.png")
    lines = image.text.split("\n")
    assert lines[0] == corpus.SIDECAR_CAPTION and len(lines) >= 2  # + the generator's captions

    assert captioning.ingest([folder], collection="default").chunks_embedded == 0
    document = docx_lib.Document(str(docx))
    document.add_paragraph("새 조항: 재택근무는 주 2회까지 가능합니다.")
    document.save(str(docx))
    changed = captioning.ingest([folder], collection="default")
    assert changed.ingested == [str(docx.resolve())]
    assert CountCalls.calls == 4  # the unchanged picture kept its caption: no new generation

    plain = Ingestor(store, embeddings, chunk_tokens=128, chunk_overlap=16, max_file_bytes=10**7)
    report = plain.ingest([folder], collection="default")
    assert len(report.ingested) == 2  # captions mode changed for both image-bearing files
    assert [c.text for c in chunks_of(store, folder / "chart.png")] == [corpus.SIDECAR_CAPTION]


def test_chunk_and_image_limits(store: Store, embeddings, tmp_path: Path):
    folder = tmp_path / "limits"
    folder.mkdir()
    (folder / "long.md").write_text("\n".join(f"문장 {i}입니다." for i in range(400)))
    inline = base64.b64encode(corpus.png_bytes(corpus.chart())).decode()
    images = "\n".join(f"![차트 {i}](data:image/png;base64,{inline})" for i in range(3))
    (folder / "images.md").write_text(f"# 차트 모음\n{images}\n", encoding="utf-8")
    limited = Ingestor(
        store, embeddings, chunk_tokens=32, chunk_overlap=0, max_file_bytes=10**7,
        limits=Limits(max_chunks_per_file=10, max_images_per_file=2),
    )  # fmt: skip
    report = limited.ingest([folder], collection="default")
    assert [Path(f.path).name for f in report.failed] == ["long.md"]
    assert "more than 10 chunks (ingest.max_chunks_per_file)" in report.failed[0].error
    kinds = [c.kind for c in chunks_of(store, folder / "images.md")]
    assert kinds.count("image") == 2
    detail = report.details[str(folder / "images.md")]
    assert (detail.chunks, detail.images) == (len(kinds), 2)
    assert "skipped images after the first 2 (ingest.max_images_per_file)" in detail.notes


# --- identity: documents are their path under the ingested folder -----------------------------


def write_tree(root: Path, prefix: str = "") -> Path:
    """Three small documents, one in a subfolder; ``prefix`` makes their texts distinct."""
    (root / "sub").mkdir(parents=True)
    (root / "a.md").write_text(f"# {prefix}가\n사과는 빨갛습니다.", encoding="utf-8")
    (root / "b.md").write_text(f"# {prefix}나\n바나나는 노랗습니다.", encoding="utf-8")
    (root / "sub" / "c.md").write_text(f"# {prefix}다\n포도는 보라색입니다.", encoding="utf-8")
    return root


def stored(store: Store) -> dict[str, str]:
    """Document id -> source path, relative to the test's folder."""
    return {d.id: d.source_path for d in store.documents("default")}


def test_moving_an_ingested_folder_embeds_nothing_and_updates_paths(
    ingestor: Ingestor, tmp_path: Path
):
    corpus_dir = write_tree(tmp_path / "old-place" / "corpus")
    first = ingestor.ingest([corpus_dir], collection="default")
    assert first.chunks_embedded > 0
    before = stored(ingestor.store)

    moved = tmp_path / "new-place" / "corpus"
    moved.parent.mkdir()
    corpus_dir.rename(moved)
    report = ingestor.ingest([moved], collection="default")
    assert report.chunks_embedded == 0 and not report.failed
    after = stored(ingestor.store)
    assert after.keys() == before.keys()  # the same documents, by id
    assert sorted(after.values()) == sorted(str(p.resolve()) for p in moved.rglob("*.md"))
    assert {report.details[p].moved_from for p in report.ingested} == set(before.values())
    hits = ingestor.store.search(
        "default", ingestor.embeddings.encode_query("포도는 무슨 색인가요?"), k=1
    )
    assert hits[0].chunk.source_path == str((moved / "sub" / "c.md").resolve())
    again = ingestor.ingest([moved], collection="default")
    assert again.chunks_embedded == 0 and len(again.unchanged) == 3


def test_renaming_an_ingested_folder_makes_no_duplicates(ingestor: Ingestor, tmp_path: Path):
    corpus_dir = write_tree(tmp_path / "2023-corpus")
    ingestor.ingest([corpus_dir], collection="default")
    renamed = corpus_dir.rename(tmp_path / "archive")
    report = ingestor.ingest([renamed], collection="default")
    assert report.chunks_embedded == 0 and len(report.ingested) == 3
    info = ingestor.store.collection("default")
    assert info.documents == 3
    vector = ingestor.embeddings.encode_query("사과는 무슨 색인가요?")
    sources = [h.chunk.source_path for h in ingestor.store.search("default", vector, k=10)]
    assert len(sources) == len(set(sources)) == info.chunks  # every chunk once
    assert all(Path(s).is_relative_to(renamed.resolve()) for s in sources)


def test_prune_removes_the_documents_of_a_deleted_folder(ingestor: Ingestor, tmp_path: Path):
    kept = write_tree(tmp_path / "kept", "kept ")
    doomed = write_tree(tmp_path / "doomed", "doomed ")
    ingestor.ingest([kept, doomed], collection="default")
    for path in sorted(doomed.rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    doomed.rmdir()
    report = ingestor.ingest([doomed], collection="default", prune=True)
    assert sorted(report.pruned) == sorted(
        str(doomed.resolve() / name) for name in ("a.md", "b.md", "sub/c.md")
    )
    left = sorted(stored(ingestor.store).values())
    assert left == sorted(str(p.resolve()) for p in kept.rglob("*.md"))


def test_same_file_through_its_folder_or_alone_is_one_document(ingestor: Ingestor, tmp_path: Path):
    corpus_dir = write_tree(tmp_path / "corpus")
    ingestor.ingest([corpus_dir], collection="default")
    alone = ingestor.ingest([corpus_dir / "sub" / "c.md"], collection="default")
    assert alone.unchanged == [str((corpus_dir / "sub" / "c.md").resolve())]
    assert ingestor.store.collection("default").documents == 3


def test_roots_with_the_same_name_in_different_places_do_not_collide(
    ingestor: Ingestor, tmp_path: Path
):
    first = write_tree(tmp_path / "team-a" / "docs", "A ")
    second = write_tree(tmp_path / "team-b" / "docs", "B ")
    report = ingestor.ingest([first, second], collection="default")
    assert len(report.ingested) == 6
    assert len(stored(ingestor.store)) == 6
    again = ingestor.ingest([second, first], collection="default")
    assert len(again.unchanged) == 6 and again.chunks_embedded == 0


def test_a_moved_document_keeps_its_readers(ingestor: Ingestor, tmp_path: Path):
    corpus_dir = write_tree(tmp_path / "hr-files")
    ingestor.ingest([corpus_dir], collection="default", groups=["hr"])
    before = {d.content_sha256: d.id for d in ingestor.store.documents("default")}
    renamed = corpus_dir.rename(tmp_path / "public-files")
    report = ingestor.ingest([renamed], collection="default")  # no --groups this time
    assert report.chunks_embedded == 0 and report.access_changes == []
    documents = ingestor.store.documents("default")
    assert {d.content_sha256: d.id for d in documents} == before  # taken over, not new ones
    assert all(Path(d.source_path).is_relative_to(renamed.resolve()) for d in documents)
    assert [d.groups for d in documents] == [("hr",)] * 3  # a move never widens access


def test_a_store_with_absolute_path_ids_keeps_its_documents(
    ingestor: Ingestor, embeddings, tmp_path: Path
):
    """Ids that hash the absolute path (stores written before relative keys) still match."""
    import hashlib

    from rag.store import DocumentRecord, DocumentUpdate, NewChunk

    corpus_dir = write_tree(tmp_path / "corpus")
    files = sorted(p.resolve() for p in corpus_dir.rglob("*.md"))
    texts = [p.read_text(encoding="utf-8") for p in files]
    updates = []
    for path, text, vector in zip(files, texts, embeddings.encode_documents(texts), strict=True):
        old_id = hashlib.sha256(str(path).encode()).hexdigest()[:16]
        record = DocumentRecord(
            id=old_id,
            collection="default",
            source_path=str(path),
            content_sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
            size=path.stat().st_size,
            mtime=path.stat().st_mtime,
        )
        chunk = NewChunk(id=f"{old_id}-0", ordinal=0, text=text, tokens=10, vector=vector)
        updates.append(DocumentUpdate(record, [chunk]))
    store = ingestor.store
    store.ensure_collection("default", embeddings.name, embeddings.dimension)
    store.commit("default", updates)
    old_ids = set(stored(store))

    report = ingestor.ingest([corpus_dir], collection="default")
    # unchanged files, recorded again only to keep the path they were found under (none before)
    assert len(report.ingested) == 3 and report.chunks_embedded == 0
    assert set(stored(store)) == old_ids
    shown = {d.relative_path for d in store.documents("default")}
    assert shown == {"corpus/a.md", "corpus/b.md", "corpus/sub/c.md"}
    moved = corpus_dir.rename(tmp_path / "moved")
    report = ingestor.ingest([moved], collection="default")
    assert report.chunks_embedded == 0 and set(stored(store)) == old_ids


# --- cheap checks: mistakes in the paths cost no model load ------------------------------------


def test_paths_are_checked_before_anything_is_written(ingestor: Ingestor, tmp_path: Path):
    from rag.errors import IngestError

    nothing = tmp_path / "legacy-only"
    nothing.mkdir()
    for name in ("예산.doc", "계획.doc", "매출.xls"):  # legacy types no loader reads
        (nothing / name).write_bytes(b"\xd0\xcf\x11\xe0 not read")
    (nothing / ".hidden.md").write_text("# hidden")
    good = write_tree(tmp_path / "good")
    with pytest.raises(IngestError) as missing:
        ingestor.ingest([good, tmp_path / "missing.md"], collection="default")
    assert str(missing.value) == f"{tmp_path / 'missing.md'}: no such file or directory"
    with pytest.raises(IngestError) as empty:
        ingestor.ingest([nothing], collection="default")
    assert str(empty.value).startswith(
        f"no files found in {nothing} (skipped 3 of types no loader reads: .doc 2, .xls 1)"
    )
    assert ingestor.store.collections() == []  # no empty collection, nothing half-done


def test_a_run_where_every_file_fails_creates_no_collection(ingestor: Ingestor, tmp_path: Path):
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "empty.txt").write_bytes(b"")
    report = ingestor.ingest([folder], collection="default")
    assert [f.error for f in report.failed] == ["file is empty"]
    assert ingestor.store.collections() == []


@pytest.mark.parametrize("kind", ["missing", "nothing readable"])
def test_ingest_command_reports_a_bad_path_before_loading_the_embedder(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from typer.testing import CliRunner

    from ui.cli import app

    monkeypatch.chdir(tmp_path)  # no stray bllossom-rag.toml
    monkeypatch.setenv("BLLOSSOM_RAG_DATA_DIR", str(tmp_path / "data"))
    # Loading this embedder would fail loudly: the path error has to come first.
    monkeypatch.setenv("BLLOSSOM_RAG_EMBEDDING__MODEL", str(tmp_path / "no-such-model"))
    target = tmp_path / "docs"
    if kind == "nothing readable":
        target.mkdir()
        (target / "예산.doc").write_bytes(b"\xd0\xcf\x11\xe0")
    result = CliRunner().invoke(app, ["ingest", str(target)])
    assert result.exit_code == 1
    expected = (
        f"{target}: no such file or directory"
        if kind == "missing"
        else f"no files found in {target} (skipped 1 of types no loader reads: .doc 1)"
    )
    assert result.output.startswith(f"Error: {expected}")
    assert "embedding model" not in result.output and result.output.count("\n") == 1
    assert not (tmp_path / "data" / "store.sqlite3").exists()

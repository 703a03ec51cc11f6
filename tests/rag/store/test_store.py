"""The store: SQLite is the truth, the FAISS view follows it through every kind of damage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.errors import (
    BllossomRagError,
    CollectionNotFoundError,
    DocumentNotFoundError,
    EmbeddingMismatchError,
)
from rag.store import DocumentRecord, DocumentUpdate, NewChunk, Store

DIM = 8


def unit(seed: int) -> np.ndarray:
    vector = np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
    return vector / np.linalg.norm(vector)


def update(doc_id: str, seeds: list[int], *, path: str | None = None) -> DocumentUpdate:
    document = DocumentRecord(
        id=doc_id,
        collection="c",
        source_path=path or f"/docs/{doc_id}.txt",
        content_sha256=f"sha-{doc_id}-{seeds}",
        size=1,
        mtime=0.0,
    )
    chunks = [
        NewChunk(id=f"{doc_id}-{seed}", ordinal=i, text=f"text {seed}", tokens=2, vector=unit(seed))
        for i, seed in enumerate(seeds)
    ]
    return DocumentUpdate(document=document, chunks=chunks)


def counts(store: Store, collection: str = "c") -> tuple[int, int, int]:
    """(documents, SQLite chunks, FAISS vectors)."""
    info = store.collection(collection)
    return info.documents, info.chunks, len(store.dense_view(collection))


@pytest.fixture
def filled(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    with Store(data) as store:
        store.ensure_collection("c", "test-model", DIM)
        store.commit("c", [update("a", [1, 2, 3]), update("b", [4, 5])])
    return data


def test_add_and_search_finds_exact_vector(filled: Path):
    with Store(filled) as store:
        assert counts(store) == (2, 5, 5)
        hits = store.search("c", unit(4), k=2)
        assert hits[0].chunk.id == "b-4"
        assert hits[0].chunk.source_path == "/docs/b.txt"
        assert hits[0].score == pytest.approx(1.0, abs=1e-5)
        assert hits[0].score >= hits[1].score


def test_readd_replaces_chunks_without_duplicates(filled: Path):
    with Store(filled) as store:
        store.dense_view("c")  # loaded view must follow the commit in memory
        result = store.commit("c", [update("a", [1, 9])])
        assert (result.chunks_removed, result.chunks_added) == (3, 2)
        assert counts(store) == (2, 4, 4)
        assert [h.chunk.id for h in store.search("c", unit(9), k=1)] == ["a-9"]
        assert all(h.chunk.id != "a-3" for h in store.search("c", unit(3), k=4))


def test_delete_removes_document_chunks_and_vectors(filled: Path):
    with Store(filled) as store:
        store.remove_documents("c", ["a"])
        assert counts(store) == (1, 2, 2)
        assert {h.chunk.document_id for h in store.search("c", unit(1), k=10)} == {"b"}


@pytest.mark.parametrize("damage", ["delete", "truncate", "garbage", "manifest"])
def test_reopen_rebuilds_damaged_view(filled: Path, damage: str):
    with Store(filled) as store:
        store.dense_view("c")
        store.flush()
    folder = filled / "faiss" / "c"
    index_file = next(folder.glob("index.*.faiss"))
    if damage == "delete":
        index_file.unlink()
    elif damage == "truncate":
        index_file.write_bytes(index_file.read_bytes()[:50])
    elif damage == "garbage":
        index_file.write_bytes(b"\x89PNG not an index at all" * 10)
    else:
        (folder / "manifest.json").write_text("{not json")
    with Store(filled) as store:
        assert counts(store) == (2, 5, 5)
        assert store.search("c", unit(5), k=1)[0].chunk.id == "b-5"


def test_stale_checkpoint_catches_up_from_sqlite(filled: Path):
    with Store(filled) as store:
        store.dense_view("c")
        store.flush()  # checkpoint reflects a, b
    with Store(filled) as writer:  # never loads the view: checkpoint is now stale
        writer.commit("c", [update("d", [7])], removals=["a"])
    with Store(filled) as store:
        assert counts(store) == (2, 3, 3)
        assert store.search("c", unit(7), k=1)[0].chunk.id == "d-7"
        assert all(h.chunk.document_id != "a" for h in store.search("c", unit(1), k=3))


def test_reader_sees_commit_from_another_store_instance(filled: Path):
    with Store(filled) as reader, Store(filled) as writer:
        assert len(reader.dense_view("c")) == 5
        writer.commit("c", [update("e", [11])])
        assert reader.search("c", unit(11), k=1)[0].chunk.id == "e-11"


def test_checkpoint_is_kept_when_current(filled: Path):
    with Store(filled) as store:
        store.dense_view("c")
        store.flush()
    manifest = filled / "faiss" / "c" / "manifest.json"
    before = manifest.stat().st_mtime_ns
    with Store(filled) as store:
        assert counts(store) == (2, 5, 5)
    assert manifest.stat().st_mtime_ns == before  # nothing changed, nothing rewritten


def test_missing_collection_is_a_clear_error(filled: Path):
    with Store(filled) as store, pytest.raises(CollectionNotFoundError, match="existing: c"):
        store.search("nope", unit(1), k=1)


def test_dimension_mismatch_is_refused(filled: Path):
    with Store(filled) as store, pytest.raises(EmbeddingMismatchError, match="8-d"):
        store.ensure_collection("c", "other-model", 16)


@pytest.mark.parametrize("name", ["", "../etc", "a/b", ".hidden", "x" * 65])
def test_collection_names_cannot_escape_the_data_folder(tmp_path: Path, name: str):
    with Store(tmp_path) as store, pytest.raises(BllossomRagError, match="invalid collection"):
        store.ensure_collection(name, "m", DIM)


def test_korean_collection_name_is_allowed(tmp_path: Path):
    with Store(tmp_path) as store:
        assert store.ensure_collection("인사팀", "m", DIM).name == "인사팀"


def test_find_documents_by_id_path_and_folder(filled: Path):
    with Store(filled) as store:
        assert [d.id for d in store.find_documents("c", "a")] == ["a"]
        assert [d.id for d in store.find_documents("c", "/docs/b.txt")] == ["b"]
        assert {d.id for d in store.find_documents("c", "/docs")} == {"a", "b"}
        with pytest.raises(DocumentNotFoundError):
            store.find_documents("c", "/elsewhere/x.txt")


def test_failed_commit_leaves_store_unchanged(filled: Path):
    broken = update("z", [1])
    bad_chunk = NewChunk(id="b-4", ordinal=1, text="dup", tokens=1, vector=unit(1))
    # Two chunks with the same id in one commit violate UNIQUE: the whole commit must roll back.
    duplicate = DocumentUpdate(
        document=broken.document, chunks=[*broken.chunks, bad_chunk, bad_chunk]
    )
    with Store(filled) as store:
        store.dense_view("c")
        with pytest.raises(Exception, match="UNIQUE"):
            store.commit("c", [duplicate], removals=["a"])
        assert counts(store) == (2, 5, 5)

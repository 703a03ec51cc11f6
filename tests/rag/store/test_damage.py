"""Damage the store can meet: foreign or broken view checkpoints, a broken or empty database.

Views are caches, so any checkpoint that is not exactly what this store wrote is rebuilt from
SQLite: searches answer correctly on the first query and every one after, never a traceback.
The database is the truth, so damage to it is one clear error naming the file, never a silently
empty store.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import faiss
import numpy as np
import pytest

from rag.access import OPERATOR
from rag.errors import StoreError
from rag.store import Store
from rag.store.store import DATABASE_FILE
from tests.support.passages import DIM, TEXTS, text_update, unit
from tests.support.stores import keyword_hits


def commit_texts(store: Store, texts: dict[str, str], first_seed: int) -> None:
    store.ensure_collection("c", "test-model", DIM)
    store.commit("c", [text_update(d, t, first_seed + i) for i, (d, t) in enumerate(texts.items())])


@pytest.fixture
def data(tmp_path: Path) -> Path:
    with Store(tmp_path / "data") as store:
        commit_texts(store, TEXTS, first_seed=0)
        store.refresh("c")  # both views checkpointed
    return tmp_path / "data"


def assert_serves_the_store(data: Path) -> None:
    """Every chunk is found by its own vector and its own words, twice over."""
    for _ in range(2):  # the first query rebuilds, the second must not fail either
        with Store(data) as store:
            for seed, doc_id in enumerate(TEXTS):
                [best, *_] = store.search("c", unit(seed), k=3)
                assert (best.chunk.document_id, round(best.score, 4)) == (doc_id, 1.0)
            assert keyword_hits(store, "c", "출장 경비", 1)[0].chunk.document_id == "travel"
            assert keyword_hits(store, "c", "ninety days", 1)[0].chunk.document_id == ("security")


def test_views_of_a_replaced_database_serve_nothing_of_the_old_store(data: Path):
    for leftover in data.glob(f"{DATABASE_FILE}*"):
        leftover.unlink()  # the database goes; its views stay behind in the folder
    fresh = {
        "menu": "Lunch is served at noon in the cafeteria.",
        "parking": "주차 등록은 총무팀에 신청합니다.",
        "vpn": "VPN access requires a hardware token.",
    }
    with Store(data) as store:  # same collection, same vector ids, same commit sequence
        commit_texts(store, fresh, first_seed=100)
    with Store(data) as store:
        for seed, doc_id in enumerate(fresh, start=100):
            [best, *_] = store.search("c", unit(seed), k=3)
            assert (best.chunk.document_id, round(best.score, 4)) == (doc_id, 1.0)
        passages = {h.chunk.text for h in store.search("c", unit(0), k=10, access=OPERATOR)}
        assert passages == set(fresh.values())
        assert keyword_hits(store, "c", "출장 경비", 3) == []  # an old passage's words
        assert keyword_hits(store, "c", "hardware token", 1)[0].chunk.document_id == "vpn"


def test_a_wal_left_by_a_deleted_database_is_not_replayed_into_a_new_store(data: Path):
    database = data / DATABASE_FILE
    # A writer whose commit is still only in the WAL (it died before any checkpoint) ...
    writer = sqlite3.connect(database)
    writer.execute("PRAGMA wal_autocheckpoint = 0")
    writer.execute(
        "INSERT INTO collections(name, embedding_model, dimension, created_at) "
        "VALUES ('ghost', 'test-model', 8, 0)"
    )
    writer.commit()
    wal = (data / f"{DATABASE_FILE}-wal").read_bytes()
    writer.close()
    # ... then the database is deleted, and only the WAL stays behind.
    for leftover in data.glob(f"{DATABASE_FILE}*"):
        leftover.unlink()
    (data / f"{DATABASE_FILE}-wal").write_bytes(wal)
    with Store(data) as store:
        assert store.collections() == []  # a new store, with nothing of the old one
        commit_texts(store, {"menu": "Lunch is served at noon."}, first_seed=100)
    with Store(data) as store:
        assert [c.name for c in store.collections()] == ["c"]
        assert [h.chunk.document_id for h in store.search("c", unit(100), k=5)] == ["menu"]


def edit_manifest(folder: Path, key: str, value: object) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest[key] = value
    (folder / "manifest.json").write_text(json.dumps(manifest))


def permute_faiss_ids(folder: Path) -> None:
    path = next(folder.glob("index.*.faiss"))
    index = faiss.read_index(str(path))
    ids = faiss.vector_to_array(index.id_map).astype(np.int64)
    vectors = np.vstack([index.reconstruct(int(i)) for i in ids])
    shuffled = faiss.IndexIDMap2(faiss.IndexFlatIP(DIM))
    shuffled.add_with_ids(vectors, np.roll(ids, 1))  # same ids, same vectors, wrong pairs
    faiss.write_index(shuffled, str(path))


def l2_index(folder: Path) -> None:
    path = next(folder.glob("index.*.faiss"))
    index = faiss.read_index(str(path))
    ids = faiss.vector_to_array(index.id_map).astype(np.int64)
    other = faiss.IndexIDMap2(faiss.IndexFlatL2(DIM))  # right size, wrong metric
    other.add_with_ids(np.vstack([index.reconstruct(int(i)) for i in ids]), ids)
    faiss.write_index(other, str(path))


FAISS_DAMAGE: dict[str, Callable[[Path], None]] = {
    "seq nested list": lambda f: edit_manifest(f, "seq", [[1]]),
    "trained_on nested list": lambda f: edit_manifest(f, "trained_on", [[0]]),
    "kind of another layout": lambda f: edit_manifest(f, "kind", "hnsw"),
    "permuted ids": permute_faiss_ids,
    "wrong metric": l2_index,
}


@pytest.mark.parametrize("damage", FAISS_DAMAGE)
def test_a_damaged_faiss_checkpoint_is_rebuilt(data: Path, damage: str):
    FAISS_DAMAGE[damage](data / "faiss" / "c")
    assert_serves_the_store(data)
    manifest = json.loads((data / "faiss" / "c" / "manifest.json").read_text())
    assert (manifest["seq"], manifest["count"], manifest["kind"]) == (
        1,
        len(TEXTS),
        "flat",
    )  # rewritten


def edit_matrix(folder: Path, change: Callable[[dict[str, np.ndarray]], None]) -> None:
    path = next(folder.glob("bm25.*.npz"))
    with np.load(path) as saved:
        arrays = dict(saved)
    change(arrays)
    with path.open("wb") as handle:
        np.savez(handle, **arrays)


def words_as_lists(folder: Path) -> None:
    path = next(folder.glob("vocabulary.*.json"))
    words = json.loads(path.read_text("utf-8"))
    path.write_text(json.dumps([[word] for word in words]), "utf-8")


BM25_DAMAGE: dict[str, Callable[[Path], None]] = {
    "seq nested list": lambda f: edit_manifest(f, "seq", [[1]]),
    "vocabulary of nested lists": words_as_lists,
    "permuted ids": lambda f: edit_matrix(f, lambda a: a.update(ids=a["ids"][::-1].copy())),
    "ids of strings": lambda f: edit_matrix(
        f, lambda a: a.update(ids=np.array([f"x{i}" for i in a["ids"]]))
    ),
    "ids of two dimensions": lambda f: edit_matrix(
        f, lambda a: a.update(ids=a["ids"].reshape(-1, 1))
    ),
}


@pytest.mark.parametrize("damage", BM25_DAMAGE)
def test_a_damaged_bm25_checkpoint_is_rebuilt(data: Path, damage: str):
    BM25_DAMAGE[damage](data / "bm25" / "c")
    assert_serves_the_store(data)
    manifest = json.loads((data / "bm25" / "c" / "manifest.json").read_text())
    assert (manifest["seq"], manifest["count"]) == (1, len(TEXTS))  # rewritten


def test_a_database_that_is_not_one_is_a_clear_error(data: Path):
    (data / DATABASE_FILE).write_bytes(b"these are not the pages you are looking for\n" * 200)
    with pytest.raises(StoreError) as error:
        Store(data)
    message = str(error.value)
    assert message.startswith(str(data / DATABASE_FILE)) and "damaged" in message
    assert "backup" in message and "\n" not in message


def test_a_truncated_database_is_a_clear_error(tmp_path: Path):
    data = tmp_path / "data"
    with Store(data) as store:
        store.ensure_collection("c", "test-model", DIM)
        big = "긴 문서의 한 문장입니다. " * 400
        commit_texts(store, {f"d{i}": f"{i} {big}" for i in range(40)}, first_seed=0)
    path = data / DATABASE_FILE
    assert not list(data.glob(f"{DATABASE_FILE}-*"))  # the WAL is folded into the file
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(StoreError) as error, Store(data) as store:
        store.documents("c")
        store.search("c", unit(0), k=3)
    message = str(error.value)
    assert message.startswith(str(path)) and "damaged" in message and "\n" not in message


def test_an_empty_database_file_is_not_taken_for_a_new_store(tmp_path: Path):
    data = tmp_path / "data"
    data.mkdir()
    (data / DATABASE_FILE).touch()
    with pytest.raises(StoreError) as error:
        Store(data)
    message = str(error.value)
    assert message.startswith(str(data / DATABASE_FILE)) and "empty" in message
    assert "\n" not in message
    assert (data / DATABASE_FILE).stat().st_size == 0  # refused, not written

"""A database restored from a backup, or rolled back by a power cut, never meets a stale view.

SQLite numbers the commits after a restore again and hands out the same vector ids again, so
the FAISS and BM25 views saved in between (which carry the commit they reflect) would look
current while holding a restricted document's vector and postings under ids that now belong
to another document: a public search would become an oracle on hidden text. Views check their
commit's random token against SQLite and rebuild when it is not there.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import numpy as np

from rag.access import PUBLIC, Access
from rag.store import Store
from rag.store.records import DocumentRecord, DocumentUpdate, NewChunk
from rag.store.store import DATABASE_FILE
from tests.support.stores import keyword_hits

DIM = 384
HR = Access.for_groups(["hr"])
SECRET_WORD = "zebrafalcon"


def vector(seed: int) -> np.ndarray:
    drawn = np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
    return drawn / np.linalg.norm(drawn)


def update(name: str, text: str, seed: int, groups: tuple[str, ...] = ()) -> DocumentUpdate:
    record = DocumentRecord(name, "c", name, f"sha-{name}", len(text), 0.0, groups=groups)
    return DocumentUpdate(record, [NewChunk(f"{name}#1", 0, text, 8, vector(seed))])


def vector_id(data: Path, chunk_id: str) -> int:
    with sqlite3.connect(data / DATABASE_FILE) as conn:
        [(found,)] = conn.execute("SELECT vector_id FROM chunks WHERE id = ?", (chunk_id,))
    return int(found)


def searched(store: Store) -> None:
    """Load both views (searches do), so closing the store checkpoints them."""
    store.search("c", vector(0), 3, HR)
    keyword_hits(store, "c", SECRET_WORD, 3, HR)


def test_views_saved_after_the_backup_are_rebuilt_not_trusted(tmp_path: Path):
    data = tmp_path / "data"
    with Store(data) as store:
        store.ensure_collection("c", "test-model", DIM)
        store.commit("c", [update("public.md", "the canteen opens at noon", 1)])
    backup = tmp_path / "backup.sqlite3"
    shutil.copy(data / DATABASE_FILE, backup)  # closed: checkpointed, no WAL to copy

    with Store(data) as store:
        store.commit("c", [update("hr.md", f"the {SECRET_WORD} bonus is 7391", 2, ("hr",))])
        searched(store)
        assert [hit.chunk.id for hit in keyword_hits(store, "c", SECRET_WORD, 3, HR)] == ["hr.md#1"]
    hidden_vector_id = vector_id(data, "hr.md#1")

    for leftover in data.glob(f"{DATABASE_FILE}-*"):
        leftover.unlink()
    shutil.copy(backup, data / DATABASE_FILE)  # the restore
    with Store(data) as store:
        # the same commit number and the same vector id, for a public document
        store.commit("c", [update("menu.md", "today the menu is bibimbap", 3)])
        assert vector_id(data, "menu.md#1") == hidden_vector_id  # the hazard is real here
        assert keyword_hits(store, "c", SECRET_WORD, 3, PUBLIC) == []
        assert keyword_hits(store, "c", SECRET_WORD, 3, HR) == []  # gone for everyone
        [nearest] = store.search("c", vector(2), 1, PUBLIC)  # the hidden document's vector
        assert nearest.score < 0.5  # matches nothing well any more
        [menu] = store.search("c", vector(3), 1, PUBLIC)
        assert menu.chunk.id == "menu.md#1" and menu.score > 0.99

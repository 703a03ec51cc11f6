"""A store written by an older release opens, upgrades and reads exactly as it was written.

``tests/fixtures/store-stop8/`` was written by ``tests/fixtures/make_store_stop8.py`` with the
code of commit 15e903e (before numbered migrations: no ``user_version``, columns added by
sniffing), and committed as it came out. Every expected value below is data that script put in
(ids, texts, groups, which stored vector a query equal to it finds), never something read back
from the code under test. Each test opens a private copy: opening upgrades the file in place.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from devkit.models import REPO
from rag.access import OPERATOR, PUBLIC, Access
from rag.errors import StoreError
from rag.store import DocumentRecord, DocumentUpdate, NewChunk, Store
from rag.store.migrations import LATEST
from rag.store.store import DATABASE_FILE
from tests.fixtures.make_store_stop8 import vector
from tests.support.stores import keyword_hits

FIXTURE = REPO / "tests" / "fixtures" / "store-stop8"
HR = Access.for_groups(["hr"])
IMAGE_SHA = "6a8efe68dda0af90acc5cc6ed220e7a4d787fe3cd46609c49f68d109770403eb"


@pytest.fixture
def old_store(tmp_path: Path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(FIXTURE, copy)
    return copy


def test_collections_and_counts_read_as_written(old_store: Path):
    with Store(old_store) as store:
        everything = {c.name: c for c in store.collections(OPERATOR)}
        public = {c.name: c for c in store.collections(PUBLIC)}
    assert sorted(everything) == ["handbook", "product"]
    handbook, product = everything["handbook"], everything["product"]
    assert (handbook.embedding_model, handbook.dimension, handbook.last_seq) == (
        "fixture-384",
        384,
        2,
    )
    assert (handbook.documents, handbook.chunks, handbook.images) == (4, 6, 1)
    assert (product.documents, product.chunks, product.images, product.last_seq) == (1, 2, 0, 4)
    # salary.md (2 chunks) is hr-only.
    assert (public["handbook"].documents, public["handbook"].chunks) == (3, 4)


def test_documents_groups_metadata_and_chunks_read_as_written(old_store: Path):
    with Store(old_store) as store:
        documents = {d.id: d for d in store.documents("handbook")}
        public = [d.id for d in store.documents("handbook", PUBLIC)]
        chunks = {
            d: [(c.id, c.kind, c.text) for c in store.document_chunks("handbook", d)]
            for d in documents
        }
        commits = [(c.seq, c.collection, c.added, c.removed) for c in store.commits()]
    assert sorted(documents) == ["chart.png", "leave.md", "salary.md", "travel.md"]
    assert public == ["chart.png", "leave.md", "travel.md"]
    assert documents["salary.md"].groups == ("hr",)
    assert {d: r.chunks for d, r in documents.items()} == {
        "chart.png": 1,
        "leave.md": 2,
        "salary.md": 2,
        "travel.md": 1,
    }
    assert documents["travel.md"].metadata == {"source": "travel.md", "page": 2, "owner": "총무팀"}
    assert chunks["leave.md"] == [
        ("leave.md#1", "text", "연차 휴가는 입사 첫해에 11일입니다."),
        ("leave.md#2", "text", "Annual leave is 15 days."),
    ]
    assert chunks["chart.png"] == [("chart.png#7", "image", "빨간 막대 차트 red bar chart")]
    assert commits == [(4, "product", 2, 1), (3, "product", 1, 0), (2, "handbook", 4, 1),
                       (1, "handbook", 3, 0)]  # fmt: skip


def test_searches_find_the_stored_vectors_and_respect_groups(old_store: Path):
    with Store(old_store) as store:
        for seed, chunk_id in [(1, "leave.md#1"), (5, "travel.md#5"), (7, "chart.png#7")]:
            [best, *_] = store.search("handbook", vector(seed), k=3)
            assert (best.chunk.id, best.score) == (chunk_id, pytest.approx(1.0, abs=1e-5))
        assert store.search("handbook", vector(3), k=1, access=HR)[0].chunk.id == "salary.md#3"
        assert all(
            h.chunk.document_id != "salary.md" for h in store.search("handbook", vector(3), k=10)
        )
        assert store.search("product", vector(12), k=1)[0].chunk.id == "faq.md#12"
        # The removed document and the replaced draft are gone from both views.
        found = {h.chunk.id for h in store.search("handbook", vector(9), k=10, access=OPERATOR)}
        assert "old.md#9" not in found and len(found) == 6
        assert {h.chunk.id for h in store.search("product", vector(10), k=10)} == {
            "faq.md#11",
            "faq.md#12",
        }
        assert keyword_hits(store, "handbook", "nightingale", 3) == []
        [secret] = keyword_hits(store, "handbook", "nightingale", 3, access=HR)
        assert secret.chunk.id == "salary.md#3"
        assert keyword_hits(store, "handbook", "출장 경비", 1)[0].chunk.id == "travel.md#5"
        assert keyword_hits(store, "handbook", "obsolete", 3, access=OPERATOR) == []


def test_the_stored_image_is_still_served(old_store: Path):
    with Store(old_store) as store:
        [hit] = store.search("handbook", vector(7), k=1)
        assert hit.chunk.image_sha256 == IMAGE_SHA
        image = store.images.open(IMAGE_SHA)
        assert store.images.thumbnail_path(IMAGE_SHA).is_file()
        assert store.collect_garbage() == 0  # the image is referenced: nothing to sweep
    assert (image.size, image.getpixel((0, 0))) == ((4, 4), (200, 30, 30))
    assert isinstance(image, Image.Image)


def test_an_upgraded_store_takes_new_commits_and_never_reuses_ids(old_store: Path):
    record = DocumentRecord("new.md", "handbook", "new.md", "sha-new", 1, 0.0)
    chunk = NewChunk("new.md#20", 0, "새 문서 new document", 3, vector(20))
    with Store(old_store) as store:
        result = store.commit("handbook", [DocumentUpdate(record, [chunk])])
        [hit] = store.search("handbook", vector(20), k=1)
    assert result.seq == 5  # the sequence goes on from the old store's four commits
    assert hit.chunk.id == "new.md#20"
    assert hit.chunk.vector_id == 11  # above every id the old store ever gave out (last: 10)
    with Store(old_store) as store:  # and the upgraded file opens again
        assert store.collection("handbook").chunks == 7
        assert np.allclose(store.search("handbook", vector(20), k=1)[0].score, 1.0, atol=1e-5)


def user_version(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / DATABASE_FILE) as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


def test_opening_runs_the_numbered_steps_once(old_store: Path, tmp_path: Path):
    assert user_version(old_store) == 0  # written before versioning
    Store(old_store).close()
    assert user_version(old_store) == LATEST
    Store(tmp_path / "new").close()
    assert user_version(tmp_path / "new") == LATEST


def test_a_store_from_a_newer_release_is_refused_untouched(old_store: Path):
    Store(old_store).close()
    with sqlite3.connect(old_store / DATABASE_FILE) as conn:
        conn.execute(f"PRAGMA user_version = {LATEST + 1}")
    before = (old_store / DATABASE_FILE).read_bytes()
    with pytest.raises(StoreError) as refused:
        Store(old_store)
    message = str(refused.value)
    assert str(old_store / DATABASE_FILE) in message and "newer" in message
    assert "\n" not in message
    assert (old_store / DATABASE_FILE).read_bytes() == before


def test_upgrading_records_each_old_chunks_language(old_store: Path):
    with Store(old_store) as store:
        leave = store.document_chunks("handbook", "leave.md")
        [chart] = store.document_chunks("handbook", "chart.png")
    # Their texts: "연차 휴가는 ...", "Annual leave ...", "빨간 막대 차트 red bar chart"
    assert [c.language for c in leave] == ["ko", "en"]
    assert chart.language == "mixed"


def test_new_chunks_get_their_language_at_commit(store: Store):
    store.ensure_collection("c", "fixture-384", 384)
    texts = {"ko": "비밀번호는 14자 이상이어야 합니다.", "en": "Passwords need 14 characters.",
             "und": "2024-01-01 12:00"}  # fmt: skip
    record = DocumentRecord("d", "c", "d.md", "sha", 1, 0.0)
    chunks = [NewChunk(f"d#{i}", i, t, 3, vector(i)) for i, t in enumerate(texts.values())]
    store.commit("c", [DocumentUpdate(record, chunks)])
    assert [c.language for c in store.document_chunks("c", "d")] == list(texts)

"""Stores written before heading paths had a column of their own upgrade and read as written.

``tests/fixtures/store-headings/`` (embedded) and ``tests/fixtures/store-headings.sql`` (a
PostgreSQL dump) were written by ``tests/fixtures/make_store_headings.py`` with the code of
commit f961c98, which stored a chunk's heading path inside its text, marked by U+001E. Every
expected value below is data that script put in. Opening a copy with today's code moves each
path into its column, leaves the passage alone, and keeps ids, vectors, keywords and access.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from devkit.models import REPO
from rag.access import OPERATOR, PUBLIC, Access
from rag.retrieval.retriever import hit_to_document
from rag.store import DocumentStore, Store
from rag.store.migrations import LATEST
from rag.store.postgres import PostgresStore
from rag.store.store import DATABASE_FILE
from tests.support.stores import BACKENDS, keyword_hits

HEADINGS_STEP = 4  # the embedded store's migration that added the heading column

FIXTURES = REPO / "tests" / "fixtures"
DIM = 384
HR = Access.for_groups(["hr"])
# What the fixture script stored: chunk id -> (heading path, passage).
CHUNKS = {
    "statute.txt#1": (
        "플랫폼법 > 제1장 총칙 > 제1조(목적)",
        "이 법은 플랫폼 이용자를 보호함을 목적으로 한다.",
    ),
    "statute.txt#2": (
        "플랫폼법 > 제4장 이용자의 권리 > 제19조(환불)",
        "사업자는 환불을 3일 안에 하여야 한다.",
    ),
    "statute.txt#3": ("플랫폼법 > 부칙", "이 법은 공포한 날부터 시행한다."),
    "notes.md#4": ("", "Meeting notes: the nightingale project starts in May."),
    "memo.md#5": ("Salary review > Bands", "Senior engineers are in band S3."),
}


def vector(seed: int) -> np.ndarray:
    drawn = np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
    return drawn / np.linalg.norm(drawn)


@pytest.fixture(params=BACKENDS)
def old_store(request: pytest.FixtureRequest, tmp_path: Path) -> DocumentStore:
    if request.param == "embedded":
        shutil.copytree(FIXTURES / "store-headings", tmp_path / "data")
        store: DocumentStore = Store(tmp_path / "data")
    else:
        server = request.getfixturevalue("postgres")
        url = server.database()
        request.addfinalizer(lambda: server.drop(url))
        server.restore(url, FIXTURES / "store-headings.sql")
        store = PostgresStore(url, tmp_path / "cache")
    request.addfinalizer(store.close)
    return store


def chunks_of(store: DocumentStore) -> dict[str, tuple[str, str]]:
    return {
        chunk.id: (chunk.heading, chunk.text)
        for document in store.documents("law")
        for chunk in store.document_chunks("law", document.id)
    }


def test_heading_paths_move_into_their_column_and_passages_stay(old_store: DocumentStore):
    assert chunks_of(old_store) == CHUNKS


def test_upgraded_chunks_keep_their_ids_vectors_and_access(old_store: DocumentStore):
    vectors = old_store.document_vectors("law", "statute.txt")
    for seed in (1, 2, 3):
        assert np.allclose(vectors[f"statute.txt#{seed}"], vector(seed))
    [hit] = old_store.search("law", vector(2), 1, PUBLIC)
    assert hit.chunk.id == "statute.txt#2"
    assert "memo.md#5" not in {h.chunk.id for h in old_store.search("law", vector(5), 5, PUBLIC)}
    [secret] = old_store.search("law", vector(5), 1, HR)
    assert secret.chunk.heading == "Salary review > Bands"


def test_a_passage_is_still_found_by_the_words_of_its_heading(old_store: DocumentStore):
    [hit] = keyword_hits(old_store, "law", "환불", 1)
    assert hit.chunk.id == "statute.txt#2"
    # "부칙" is in the heading path only, never in the passage.
    [hit] = keyword_hits(old_store, "law", "부칙", 1)
    assert hit.chunk.id == "statute.txt#3"
    assert keyword_hits(old_store, "law", "band", 3) == []
    assert [h.chunk.id for h in keyword_hits(old_store, "law", "band", 3, HR)] == ["memo.md#5"]
    document = hit_to_document(hit, old_store.images)
    assert document.metadata["heading"] == "플랫폼법 > 부칙"
    assert document.page_content == "이 법은 공포한 날부터 시행한다."


def test_new_commits_store_the_heading_in_its_column(old_store: DocumentStore):
    from rag.store import DocumentRecord, DocumentUpdate, NewChunk

    record = DocumentRecord("new.md", "law", "new.md", "sha-new", 10, 0.0)
    chunk = NewChunk(
        "new.md#9", 0, "반품은 7일 안에 가능하다.", 8, vector(9), heading="안내 > 반품"
    )
    old_store.commit("law", [DocumentUpdate(record, [chunk])])
    old_store.refresh("law")
    [stored] = old_store.document_chunks("law", "new.md")
    assert (stored.heading, stored.text) == ("안내 > 반품", "반품은 7일 안에 가능하다.")
    assert [h.chunk.id for h in keyword_hits(old_store, "law", "반품 안내", 1, OPERATOR)] == [
        "new.md#9"
    ]


def test_the_embedded_file_records_the_new_format(tmp_path: Path):
    shutil.copytree(FIXTURES / "store-headings", tmp_path / "data")
    with sqlite3.connect(tmp_path / "data" / DATABASE_FILE) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == HEADINGS_STEP - 1
    Store(tmp_path / "data").close()
    with sqlite3.connect(tmp_path / "data" / DATABASE_FILE) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST
        marked = conn.execute("SELECT count(*) FROM chunks WHERE text LIKE char(30) || '%'")
        assert marked.fetchone()[0] == 0

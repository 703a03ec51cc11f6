"""Stores written before documents kept their relative path upgrade alike on both backends.

The store is built with the schema steps before the one that added relative paths and page
layouts (each backend's ``_sources_to_open``), a document recorded at a server path is put in,
and today's code opens it: the document is shown by its file's name (never the server path),
has no page layouts, and a new commit keeps both.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import numpy as np
import psycopg
import pytest

from rag.store import DocumentStore, PageLayout, Store, WordBox
from rag.store import migrations as embedded_steps
from rag.store.postgres import PostgresStore
from rag.store.postgres import migrations as postgres_steps
from rag.store.store import DATABASE_FILE
from tests.support.passages import text_update

SERVER_PATH = "/srv/bllossom/uploads/team/휴가 정책.md"
# The step that added them, per backend, found by name (steps are renumbered when branches merge).
SOURCES_STEP = {
    "embedded": embedded_steps.STEPS.index(embedded_steps._sources_to_open) + 1,
    "postgres": postgres_steps.STEPS.index(postgres_steps._sources_to_open) + 1,
}


def old_embedded(folder: Path) -> Store:
    folder.mkdir(parents=True)
    conn = sqlite3.connect(folder / DATABASE_FILE, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    for step in embedded_steps.STEPS[: SOURCES_STEP["embedded"] - 1]:
        step(conn)
    conn.execute(f"PRAGMA user_version = {SOURCES_STEP['embedded'] - 1}")
    conn.execute(
        "INSERT INTO collections(name, embedding_model, dimension, created_at) "
        "VALUES ('c', 'm', 8, 0)"
    )
    conn.execute(
        "INSERT INTO documents(collection, id, source_path, content_sha256, size, mtime, "
        "ingested_at, seq) VALUES ('c', 'leave', ?, 'x', 1, 0, 0, 1)",
        (SERVER_PATH,),
    )
    conn.execute("COMMIT")
    conn.close()
    return Store(folder)


def old_postgres(url: str, cache: Path) -> PostgresStore:
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        postgres_steps._check_server(conn, url)
        for step in postgres_steps.STEPS[: SOURCES_STEP["postgres"] - 1]:
            step(conn)
        conn.execute(
            "INSERT INTO meta(key, value) VALUES ('schema_version', %s)",
            (str(SOURCES_STEP["postgres"] - 1),),
        )
        conn.execute(
            "INSERT INTO collections(name, embedding_model, dimension, created_at) "
            "VALUES ('c', 'm', 8, 0)"
        )
        collection = conn.execute("SELECT id FROM collections").fetchone()[0]
        conn.execute(
            "INSERT INTO documents(collection_id, id, source_path, content_sha256, size, mtime, "
            "ingested_at, seq) VALUES (%s, 'leave', %s, 'x', 1, 0, 0, 1)",
            (collection, SERVER_PATH),
        )
    return PostgresStore(url, cache)


@pytest.fixture(params=("embedded", "postgres"))
def upgraded(request: pytest.FixtureRequest, tmp_path: Path) -> DocumentStore:
    if request.param == "embedded":
        store: DocumentStore = old_embedded(tmp_path / "data")
    else:
        server = request.getfixturevalue("postgres")
        url = server.database()
        request.addfinalizer(lambda: server.drop(url))
        store = old_postgres(url, tmp_path / "cache")
    request.addfinalizer(store.close)
    return store


def test_an_old_document_is_shown_by_its_file_name(upgraded: DocumentStore):
    [document] = upgraded.documents("c")
    assert document.source_path == SERVER_PATH
    assert document.relative_path == "휴가 정책.md" == document.shown_path
    assert upgraded.page_layouts("c", "leave") == []


def test_after_the_upgrade_commits_keep_relative_paths_and_layouts(upgraded: DocumentStore):
    layout = PageLayout(1, (WordBox("연차", 0.1, 0.1, 0.2, 0.12),))
    update = text_update("new", "새 문서의 문장입니다.", 3)
    update = replace(
        update, document=replace(update.document, relative_path="team/new.md"), layouts=(layout,)
    )
    upgraded.commit("c", [update])
    new = upgraded.document("c", "new")
    assert new is not None and new.relative_path == "team/new.md"
    assert upgraded.page_layouts("c", "new") == [layout]
    assert np.allclose(upgraded.chunk_vectors("c", ["new-0"])["new-0"], update.chunks[0].vector)

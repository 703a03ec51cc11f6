"""The PostgreSQL store against a real server: shared by instances, filtered HNSW, schema, errors.

Everything here runs on the session's PostgreSQL 18 + pgvector 0.8 (:mod:`devkit.postgres`),
a fresh database per test. Retrieval behaviour shared with the embedded store (the access
canary, BM25 statistics, the LangChain vector store) is tested on both backends in the modules
of those features.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import psycopg
import pytest
from PIL import Image

from devkit.postgres import LocalPostgres
from rag.access import OPERATOR, PUBLIC, Access
from rag.embeddings.space import AffineMap, VectorSpace
from rag.errors import StoreError
from rag.store import DocumentRecord, DocumentUpdate, IndexPolicy, NewChunk, open_store
from rag.store.postgres import PostgresStore
from tests.support.stores import keyword_hits

HR = Access.for_groups(["hr"])


def unit_rows(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    rows = rng.standard_normal((n, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def document(
    doc_id: str, rows: np.ndarray, groups: tuple[str, ...] = (), text: str = ""
) -> DocumentUpdate:
    record = DocumentRecord(doc_id, "c", f"/docs/{doc_id}.md", doc_id, 1, 0.0, groups)
    chunks = [
        NewChunk(f"{doc_id}-{i}", i, text or f"{doc_id} chunk {i}", 4, row)
        for i, row in enumerate(rows)
    ]
    return DocumentUpdate(record, chunks)


def exact_top(rows: np.ndarray, ids: list[str], query: np.ndarray, k: int) -> set[str]:
    order = np.argsort(-(rows @ query), kind="stable")[:k]
    return {ids[i] for i in order}


def test_hnsw_with_a_group_filter_keeps_its_neighbours(store_url: str, tmp_path: Path):
    """90% of the chunks hidden: the filtered HNSW scan still returns k, the true nearest."""
    dim, rng = 32, np.random.default_rng(3)
    public, secret = unit_rows(rng, 300, dim), unit_rows(rng, 2700, dim)
    # Past exact_max the collection gets its HNSW index; 300 readable chunks are above
    # exact_filter_max, so a public caller goes through the graph, filtered inside the scan.
    policy = IndexPolicy(exact_max=1000, exact_filter_max=100)
    with PostgresStore(store_url, tmp_path, index_policy=policy) as store:
        store.ensure_collection("c", "synthetic", dim)
        updates = [document(f"pub{i}", public[i * 30 : (i + 1) * 30]) for i in range(10)]
        updates += [document(f"hr{i}", secret[i * 300 : (i + 1) * 300], ("hr",)) for i in range(9)]
        store.commit("c", updates)
        store.refresh("c")
        public_ids = [f"pub{i // 30}-{i % 30}" for i in range(300)]
        queries = unit_rows(rng, 20, dim)
        recall = []
        for query in queries:
            hits = store.search("c", query, 10, PUBLIC)
            assert len(hits) == 10
            assert all(hit.chunk.document_id.startswith("pub") for hit in hits)
            found = {hit.chunk.id for hit in hits}
            recall.append(len(found & exact_top(public, public_ids, query, 10)) / 10)
        assert np.mean(recall) >= 0.9
        assert hnsw_scans(store_url, len(queries)) >= len(queries)  # the graph, no exact scan
        with psycopg.connect(store_url) as conn:  # the same scan without iterative scans
            conn.execute("SET enable_sort = off")
            conn.execute("SET hnsw.iterative_scan = off")
            conn.execute("SET hnsw.ef_search = 40")
            lost = conn.execute(
                "SELECT count(*) FROM (SELECT vector_id FROM chunks "
                "WHERE collection_id = 1 AND class_id = 1 "
                "ORDER BY embedding::vector(32) <#> %s::vector LIMIT 10) nearest",
                (str(queries[0].tolist()),),
            ).fetchone()
            assert lost is not None and lost[0] < 10  # what the settings prevent


def hnsw_scans(url: str, expected: int) -> int:
    """Scans of the collection's HNSW index so far, once ``expected`` of them have been counted.

    Each pooled connection's backend sends its counts to the view on its own, up to 10 s after
    its last query, so a first count can be a part of the scans: wait (a bounded time) for the
    rest rather than read one backend's share.
    """
    scans = 0
    with psycopg.connect(url) as conn:
        for _ in range(200):
            row = conn.execute(
                "SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = 'chunks_hnsw_1'"
            ).fetchone()
            scans = int(row[0]) if row is not None and row[0] else 0
            if scans >= expected:
                return scans
            conn.execute("SELECT pg_sleep(0.1)")
            conn.execute("SELECT pg_stat_clear_snapshot()")
    return scans


def test_a_caller_reading_few_chunks_gets_an_exact_scan(store_url: str, tmp_path: Path):
    dim, rng = 16, np.random.default_rng(5)
    public, secret = unit_rows(rng, 1500, dim), unit_rows(rng, 12, dim)
    policy = IndexPolicy(exact_max=1000)
    with PostgresStore(store_url, tmp_path, index_policy=policy) as store:
        store.ensure_collection("c", "synthetic", dim)
        store.commit("c", [document("pub", public), document("hr", secret, ("hr",))])
        store.refresh("c")
        for query in secret:
            hits = store.search("c", query, 5, HR)
            assert hits[0].chunk.document_id == "hr"
            assert hits[0].score == pytest.approx(1.0, abs=1e-5)
            assert all(h.chunk.document_id != "hr" for h in store.search("c", query, 10))


def test_an_exact_search_in_a_vector_space_equals_the_embedded_stores(
    store_url: str, tmp_path: Path
):
    """The space's cosine computed in SQL ranks and scores as the embedded store's mapped view."""
    dim, rng = 24, np.random.default_rng(11)
    rows = unit_rows(rng, 400, dim)
    axis = unit_rows(rng, 1, dim)[0]
    space = VectorSpace(
        "synthetic",
        passage=AffineMap(0.6 * unit_rows(rng, 1, dim)[0], axis),
        query=AffineMap(0.5 * unit_rows(rng, 1, dim)[0], axis),
    )
    updates = [
        document(f"d{i}", rows[i * 40 : (i + 1) * 40], ("hr",) if i % 3 else ()) for i in range(10)
    ]
    with (
        PostgresStore(store_url, tmp_path / "pg") as postgres,
        open_store(tmp_path / "embedded") as embedded,
    ):
        for store in (postgres, embedded):
            store.ensure_collection("c", "synthetic", dim)
            store.commit("c", updates)
            store.refresh("c", space)
        differs = 0
        for query in unit_rows(rng, 10, dim):
            for access in (PUBLIC, HR):
                ours = postgres.search("c", query, 8, access, space)
                theirs = embedded.search("c", query, 8, access, space)
                assert [h.chunk.id for h in ours] == [h.chunk.id for h in theirs]
                assert [h.score for h in ours] == pytest.approx([h.score for h in theirs], abs=1e-5)
                raw = postgres.search("c", query, 8, access)
                differs += [h.chunk.id for h in raw] != [h.chunk.id for h in ours]
        assert differs  # the space really reorders: the test compares more than raw search


def test_an_instance_sees_another_instances_commits_at_once(store_url: str, tmp_path: Path):
    """Two instances, two data folders, one store: no restart, no refresh, no stale view."""
    dim, rng = 8, np.random.default_rng(1)
    rows = unit_rows(rng, 6, dim)
    with (
        PostgresStore(store_url, tmp_path / "a") as a,
        PostgresStore(store_url, tmp_path / "b") as b,
    ):
        a.ensure_collection("c", "synthetic", dim)
        a.commit("c", [document("first", rows[:3], text="the first nightingale")])
        assert [d.id for d in b.documents("c")] == ["first"]
        assert b.search("c", rows[0], 1)[0].chunk.id == "first-0"
        b.commit("c", [document("second", rows[3:], ("hr",), text="a second nightingale")])
        assert {h.chunk.document_id for h in keyword_hits(a, "c", "nightingale", 10, HR)} == {
            "first",
            "second",
        }
        assert {h.chunk.document_id for h in keyword_hits(a, "c", "nightingale", 10)} == {"first"}
        assert a.collection("c").chunks == 6
        b.remove_documents("c", ["first"])
        assert [d.id for d in a.documents("c", OPERATOR)] == ["second"]
        assert a.search("c", rows[0], 10, PUBLIC) == []
        # An image stored by one instance is served by the other from its own folder.
        picture = Image.new("RGB", (40, 30), (200, 40, 90))
        sha = a.images.put(picture)
        served = b.images.path(sha)
        assert served.is_relative_to(tmp_path / "b")
        assert served.read_bytes() == a.images.path(sha).read_bytes()
        assert b.images.open(sha).size == (40, 30)
        assert b.images.thumbnail_path(sha).is_file()


def test_image_sweeps_wait_for_running_ingests(store_url: str, tmp_path: Path):
    with (
        PostgresStore(store_url, tmp_path / "a") as a,
        PostgresStore(store_url, tmp_path / "b") as b,
    ):
        a.ensure_collection("c", "synthetic", 4)
        kept = a.images.put(Image.new("RGB", (8, 8), "red"))
        chunk = NewChunk("fig", 0, "a red square", 3, np.ones(4, np.float32) / 2, kind="image",
                         image_sha256=kept)  # fmt: skip
        record = DocumentRecord("doc", "c", "/doc.pdf", "x", 1, 0.0)
        a.commit("c", [DocumentUpdate(record, [chunk])])
        with a.images.in_use():
            orphan = a.images.put(Image.new("RGB", (8, 8), "blue"))  # its commit still to come
            assert b.collect_garbage() is None  # another instance's sweep waits for the ingest
        assert b.collect_garbage() == 1
        with psycopg.connect(store_url) as conn:
            left = {row[0] for row in conn.execute("SELECT sha256 FROM images")}
        assert left == {kept}
        assert orphan != kept


def test_concurrent_opens_build_the_schema_once(postgres: LocalPostgres, tmp_path: Path):
    url = postgres.database()
    try:
        ids: list[str] = []
        errors: list[BaseException] = []

        def open_one(i: int) -> None:
            try:
                with PostgresStore(url, tmp_path / str(i)) as store:
                    ids.append(store.store_id)
            except BaseException as error:  # reported below
                errors.append(error)

        threads = [threading.Thread(target=open_one, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors
        assert len(set(ids)) == 1
    finally:
        postgres.drop(url)


def test_a_schema_from_a_newer_release_is_refused(store_url: str, tmp_path: Path):
    PostgresStore(store_url, tmp_path).close()
    with psycopg.connect(store_url, autocommit=True) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="schema 99 is newer than this release"):
        PostgresStore(store_url, tmp_path)


def test_an_unreachable_server_is_one_line_without_the_password(tmp_path: Path):
    url = f"postgresql://reader:s3cret-pw@/db?host={tmp_path / 'no-server'}"
    with pytest.raises(StoreError) as raised:
        open_store(tmp_path / "data", url)
    message = str(raised.value)
    assert "s3cret-pw" not in message
    assert "reader:***@" in message
    assert "\n" not in message
    assert "store.url" in message


def test_missing_privileges_say_what_to_grant(postgres: LocalPostgres, tmp_path: Path):
    """A user who may not create the extension, or the tables, is told what to run."""
    url = postgres.database()
    try:
        with postgres.connect(url.split("/", 3)[3].split("?")[0]) as conn:
            conn.execute("CREATE ROLE app LOGIN")
            conn.execute("GRANT CREATE ON SCHEMA public TO app")
        app = url.replace("postgres@", "app@")
        with pytest.raises(StoreError, match="CREATE EXTENSION vector"):
            PostgresStore(app, tmp_path)
        with postgres.connect(url.split("/", 3)[3].split("?")[0]) as conn:
            conn.execute("CREATE EXTENSION vector")
            conn.execute("REVOKE CREATE ON SCHEMA public FROM app")
        with pytest.raises(StoreError, match="may not create the store's tables") as raised:
            PostgresStore(app, tmp_path)
        assert "\n" not in str(raised.value)
    finally:
        postgres.drop(url)
        with postgres.connect("postgres") as conn:
            conn.execute("DROP ROLE IF EXISTS app")

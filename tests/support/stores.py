"""Stores for tests: both backends, opened the same way, and a keyword search over either.

Tests parametrized over :data:`BACKENDS` run the same assertions on the embedded store and on
PostgreSQL.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from devkit.postgres import LocalPostgres
from rag.access import PUBLIC, Access
from rag.store import DocumentRecord, DocumentStore, DocumentUpdate, NewChunk, SearchHit, Store
from rag.store.postgres import PostgresStore

BACKENDS = ("embedded", "postgres")


def open_backend(request: pytest.FixtureRequest, backend: str, folder: Path) -> DocumentStore:
    """A new, empty store of ``backend`` (its database, if any, goes with the fixture's scope)."""
    if backend == "embedded":
        return Store(folder)
    server: LocalPostgres = request.getfixturevalue("postgres")
    url = server.database()
    request.addfinalizer(lambda: server.drop(url))
    return PostgresStore(url, folder)


def keyword_hits(
    store: DocumentStore, collection: str, query: str, k: int, access: Access = PUBLIC
) -> list[SearchHit]:
    """The ``k`` readable chunks that best match ``query`` by BM25 alone, best first.

    Read from the store's candidates (every search the retriever makes), with a query vector
    that matches nothing, so the dense side adds candidates with no keyword score, which are
    left out.
    """
    dimension = store.collection(collection).dimension
    found = store.candidates(collection, query, np.zeros(dimension, np.float32), k, access)
    ranked = sorted(
        ((vector_id, score) for vector_id, score in found.keyword.items() if score > 0),
        key=lambda item: (-item[1], item[0]),
    )
    return store.hits(ranked[:k])


def put_document(store: DocumentStore, document_id: str, groups: tuple[str, ...] = ()) -> None:
    """A one-chunk document ``/docs/<document_id>`` in collection ``c``, readable by ``groups``."""
    store.ensure_collection("c", "model", 2)
    record = DocumentRecord(
        id=document_id,
        collection="c",
        source_path=f"/docs/{document_id}",
        content_sha256=hashlib.sha256(document_id.encode()).hexdigest(),
        size=1,
        mtime=0.0,
        groups=groups,
    )
    chunk = NewChunk(f"{document_id}-0", 0, document_id, 1, np.array([1.0, 0.0], np.float32))
    store.commit("c", [DocumentUpdate(record, [chunk])])

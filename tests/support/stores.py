"""Stores for tests: both backends, opened the same way, and a keyword search over either.

Tests parametrized over :data:`BACKENDS` run the same assertions on the embedded store and on
PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from devkit.postgres import LocalPostgres
from rag.access import PUBLIC, Access
from rag.store import DocumentStore, SearchHit, Store
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

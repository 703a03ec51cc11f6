"""SQLite: the store's source of truth, opened, upgraded and written through one connection.

Documents, chunks, their float32 vectors and a commit sequence live in one SQLite file in WAL
mode. Search indexes are views rebuilt from these rows; losing them loses nothing. This module
owns the file's lifecycle (open, upgrade by :mod:`rag.store.migrations`, close) and wraps the
writes (:mod:`rag.store.commit`) in transactions; the reads are :class:`Queries`.

One connection serves every thread of a process (Streamlit serves each session from its own
thread): an ``RLock`` serializes its use, SQLite serializes processes.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from rag.store import migrations
from rag.store.commit import CommitDelta, create_collection, write_commit
from rag.store.queries import Queries
from rag.store.records import DocumentUpdate


class Database(Queries):
    """Thread-safe access to the store's SQLite file: its reads, plus the writes.

    Args:
        path: The SQLite file; created with its schema when missing, upgraded when older.

    Raises:
        StoreError: The file comes from a newer release.

    """

    def __init__(self, path: Path) -> None:
        self.path = path
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        conn.row_factory = sqlite3.Row
        super().__init__(conn, threading.RLock())
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=30000")
            with self._transaction():
                migrations.upgrade(conn, path)
        except BaseException:
            conn.close()
            raise

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``, or ``ROLLBACK`` on any exception, under the lock."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def create_collection(self, name: str, embedding_model: str, dimension: int) -> None:
        """Create ``name`` unless it exists (the caller checks the embedder matches)."""
        with self._transaction() as conn:
            create_collection(conn, name, embedding_model, dimension)

    def commit(
        self, collection: str, updates: Sequence[DocumentUpdate], removals: Sequence[str]
    ) -> CommitDelta:
        """Replace documents and remove others in one transaction (see :mod:`.commit`)."""
        with self._transaction() as conn:
            return write_commit(conn, collection, updates, removals)

"""SQLite: the store's source of truth, opened, upgraded and written through one connection.

Documents, chunks, their float32 vectors and a commit sequence live in one SQLite file in WAL
mode. Search indexes are views rebuilt from these rows; losing them loses nothing, losing this
file loses everything, so opening it is careful:

- a new file is built under a temp name and renamed into place complete, so a store file that
  exists but is empty (0 bytes) was never written by us: it is refused, not taken for a new
  store (which would silently hide whatever was lost);
- an existing file is upgraded by :mod:`rag.store.migrations`;
- a damaged file (not a database, truncated, malformed pages) is one :class:`StoreError` naming
  it and what to do, wherever the damage is found (see :meth:`Queries._locked`).

One connection serves every thread of a process (Streamlit serves each session from its own
thread): an ``RLock`` serializes its use, SQLite serializes processes. The reads are
:class:`Queries`; the writes (:mod:`rag.store.commit`) run here, each in one transaction.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from rag.errors import StoreError
from rag.runtime.files import temp_name
from rag.store import migrations
from rag.store.checkpoint import exclusive
from rag.store.commit import CommitDelta, create_collection, write_commit
from rag.store.full_disk import is_full, read_only_while_full
from rag.store.queries import Queries, unusable
from rag.store.records import DocumentUpdate


class Database(Queries):
    """Thread-safe access to the store's SQLite file: its reads, plus the writes.

    Args:
        path: The SQLite file; created with its schema when missing, upgraded when older.

    Attributes:
        store_id: This store's identity (a UUID), which its view checkpoints carry.
        read_only: Opened while the disk was full (:mod:`rag.store.full_disk`): reads work,
            writes fail in one line, and the ordinary connection returns once there is space.

    Raises:
        StoreError: The file is empty, damaged, unopenable or from a newer release.

    """

    def __init__(self, path: Path) -> None:
        if not path.exists():
            _create(path)
        elif path.is_file() and path.stat().st_size == 0:
            msg = (
                f"{path} is empty (0 bytes), so it holds no store: restore it from a backup, "
                "or delete it to start a new, empty store"
            )
            raise StoreError(msg)
        conn = read_only_while_full(path) if is_full(path.parent) else None
        self.read_only = conn is not None
        super().__init__(path, conn or _connect(path), threading.RLock())
        try:
            with self._transaction() as conn:
                migrations.upgrade(conn, path)
                self.store_id = str(
                    conn.execute("SELECT value FROM meta WHERE key = 'store_id'").fetchone()[0]
                )
        except BaseException:
            self._conn.close()
            raise

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    @contextmanager
    def _locked(self) -> Iterator[sqlite3.Connection]:
        """As :meth:`Queries._locked`, first leaving read-only mode once the disk has space."""
        with self._lock:
            if self.read_only and not is_full(self.path.parent):
                ordinary = _connect(self.path)
                self._conn.close()
                self._conn, self.read_only = ordinary, False
            with super()._locked() as conn:
                yield conn

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``, or ``ROLLBACK`` on any exception, under the lock."""
        with self._locked() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (see :meth:`_transaction`), for what the store adds on top."""
        with self._transaction() as conn:
            yield conn

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


def _connect(path: Path) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")  # the first read of the file: damage shows here
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=30000")
    except sqlite3.DatabaseError as error:
        raise (unusable(path, error) or error) from None
    return conn


def _create(path: Path) -> None:
    """Build a new, empty store file beside ``path`` and move it into place whole.

    Creators serialize on the folder's lock and look again under it, so two processes creating
    the same store at once keep the first one's file and never replace a store in use. A WAL
    left beside a database that is gone belongs to no store: SQLite would replay the old
    store's pages into the new file, so it goes first.
    """
    with exclusive(path.parent):
        if path.exists():
            return
        for orphan in (_beside(path, "-wal"), _beside(path, "-shm")):
            orphan.unlink(missing_ok=True)
        tmp = temp_name(path)
        try:
            conn = _connect(tmp)
            try:
                conn.execute("BEGIN IMMEDIATE")
                migrations.upgrade(conn, tmp)
                conn.execute("COMMIT")
            finally:
                conn.close()  # the last connection folds the WAL into the file
            tmp.replace(path)
        finally:
            for leftover in (tmp, _beside(tmp, "-wal"), _beside(tmp, "-shm")):
                leftover.unlink(missing_ok=True)
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


def _beside(path: Path, suffix: str) -> Path:
    """SQLite's companion file of ``path`` (``-wal``, ``-shm``)."""
    return path.with_name(path.name + suffix)

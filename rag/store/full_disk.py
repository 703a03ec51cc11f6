"""A full disk: one line that says so, a store left as it was, and reads that go on.

SQLite rolls a transaction that finds no space back whole, and views and images are written
under temp names and renamed into place (:func:`rag.runtime.files.atomic_write`), so a full disk
never damages the store; what it needs is a true message instead of a traceback, and reads
that do not depend on writing:

- a write that runs out of space (a commit, an image, an upload) is :func:`no_space`, one line
  naming the folder;
- a view that cannot be saved stays in memory (:meth:`rag.store.store.Store.flush`) and is saved
  at the next checkpoint with space;
- a process that opens the store while the disk is full reads it through a read-only
  connection that needs no shared-memory file (:func:`read_only_while_full`), and switches
  back to the ordinary connection once there is space again.
"""

from __future__ import annotations

import errno
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rag.errors import DiskFullError

# Below this many free bytes an I/O error while writing is taken for a full disk: SQLite reports
# a shared-memory file it cannot extend as SQLITE_IOERR_SHMSIZE, and FAISS a failed write as a
# RuntimeError, neither with the errno.
_NEARLY_FULL = 1 << 20
_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})


def is_full(folder: Path) -> bool:
    """Whether the file system holding ``folder`` has (nearly) no space left for this user."""
    try:
        return shutil.disk_usage(folder).free < _NEARLY_FULL
    except OSError:
        return False


def out_of_space(error: BaseException, folder: Path) -> bool:
    """Whether ``error``, raised while writing under ``folder``, means the disk is full."""
    if isinstance(error, OSError) and error.errno in _NO_SPACE:
        return True
    if isinstance(error, sqlite3.Error):
        name = getattr(error, "sqlite_errorname", "")
        if name == "SQLITE_FULL":
            return True
        return name.startswith(("SQLITE_IOERR", "SQLITE_READONLY")) and is_full(folder)
    return isinstance(error, (OSError, RuntimeError)) and is_full(folder)


def no_space(folder: Path) -> DiskFullError:
    """The one line for a write that found the disk full."""
    return DiskFullError(
        f"no space left on the disk holding {folder}: free some space, then try again "
        "(the store is unchanged; what was ingested before is kept)"
    )


@contextmanager
def writing_under(folder: Path) -> Iterator[None]:
    """Make a file write under ``folder`` that finds the disk full :func:`no_space`."""
    try:
        yield
    except OSError as error:
        if not out_of_space(error, folder):
            raise
        raise no_space(folder) from None


def read_only_while_full(path: Path) -> sqlite3.Connection | None:
    """A read-only connection to the store file ``path`` for a disk with no space, or None.

    SQLite in WAL mode needs a shared-memory file beside the database even to read, and cannot
    create one on a full disk. An ``immutable`` connection reads the database file alone,
    which holds every commit as long as no write-ahead log waits to be folded into it (the
    last connection to close folds it in): only then is it offered.
    """
    folder = path.parent
    wal = path.with_name(path.name + "-wal")
    if not is_full(folder) or (wal.exists() and wal.stat().st_size > 0):
        return None
    conn = sqlite3.connect(
        f"{path.absolute().as_uri()}?mode=ro&immutable=1",
        uri=True,
        check_same_thread=False,
        isolation_level=None,
    )
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys=ON")
    return conn

"""Small append-only SQLite logs beside the store (feedback, generation timings).

Such a log is written by whichever thread answered (the web app serves each session from its
own thread) and read by the dashboard or an export, so every call opens its own connection
rather than sharing one across threads, in WAL mode so a reader never blocks a writer. The
table is created on first use: a log costs nothing until something is recorded.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def connect_log(path: Path, schema: str) -> Iterator[sqlite3.Connection]:
    """A connection to the log at ``path`` with its table (``schema``), in one transaction.

    Args:
        path: The SQLite file; it and its folder are created on first use.
        schema: One ``CREATE TABLE IF NOT EXISTS`` statement.

    """
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=10)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(schema)
        with conn:
            yield conn
    finally:
        conn.close()

"""The store's own small tables in SQL, one implementation for both backends.

Keys, people and the audit trail (:mod:`rag.store.registry`) and saved conversations
(:mod:`rag.store.conversations`) are alike in SQLite and PostgreSQL (created by each backend's
numbered migrations), with lists and mappings as JSON text, so their statements are written
once, with ``?`` placeholders that the PostgreSQL store turns into ``%s``. A backend supplies a
connection (:meth:`SqlTables._sql_connection`) and, where a connection commits each statement
on its own, a transaction around several (:meth:`SqlTables._atomically`).
"""

from __future__ import annotations

import contextlib
from abc import abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any


class SqlTables:
    """Runs statements on the store's own database."""

    placeholder = "?"

    @abstractmethod
    def _sql_connection(self) -> AbstractContextManager[Any]:
        """A connection (DB-API: ``execute`` returns a cursor) whose statements commit."""

    def _atomically(self, conn: Any) -> AbstractContextManager[Any]:
        """Several statements on ``conn`` as one transaction (SQLite's connection is one)."""
        return contextlib.nullcontext(conn)

    def _sql(self, sql: str) -> str:
        return sql.replace("?", self.placeholder)

    def _run(self, sql: str, parameters: Sequence[Any] = ()) -> Iterator[Sequence[Any]]:
        with self._sql_connection() as conn:
            cursor = conn.execute(self._sql(sql), tuple(parameters))
            rows = cursor.fetchall() if cursor.description else []
        return iter(rows)

    def _count(self, sql: str, parameters: Sequence[Any] = ()) -> int:
        with self._sql_connection() as conn:
            return int(conn.execute(self._sql(sql), tuple(parameters)).rowcount)

    def _count_all(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[int]:
        """Run several statements in one transaction; each one's row count."""
        with self._sql_connection() as conn, self._atomically(conn):
            return [
                int(conn.execute(self._sql(sql), tuple(parameters)).rowcount)
                for sql, parameters in statements
            ]

"""What the store remembers of the sources it syncs: their last syncs, their items' validators.

A source (``[[sources]]``: a folder, a site, a repository) is synced into a collection by
``bllossom-rag sync``; its state lives in the store beside the documents, on both backends, so
every instance of a shared PostgreSQL store shows the same last sync and a site's pages are
asked for conditionally from any of them:

- a :class:`SyncRecord` per source: when it was last synced, how it went (counts, errors), and
  its cursor (a repository's synced commit);
- a :class:`SyncItem` per fetched item of a site: its URL, the file its copy is kept in, and the
  validators that let the next sync ask "changed since?" (``ETag``, ``Last-Modified``) and
  notice an unchanged body by its hash.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rag.store.sql_tables import SqlTables

_RECORD_COLUMNS = "name, kind, collection, started_at, finished_at, status, cursor, summary"
_ITEM_COLUMNS = "locator, path, etag, last_modified, content_sha256, checked_at"


@dataclass(frozen=True)
class SyncRecord:
    """A source's last sync.

    Attributes:
        name: The source's name.
        kind: ``folder``, ``web`` or ``git``.
        collection: The collection it syncs into.
        started_at: When the last sync began (Unix time).
        finished_at: When it ended.
        status: ``ok``, ``partial`` (some items failed, or the crawl stopped at a limit) or
            ``failed`` (the source as a whole could not be synced).
        cursor: Where the source was synced to (a repository's commit), if it has such a thing.
        summary: The counts and the first errors (:meth:`ingest.sources.report.SyncReport.summary`).

    """

    name: str
    kind: str
    collection: str
    started_at: float
    finished_at: float
    status: str
    cursor: str | None = None
    summary: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SyncItem:
    """One fetched item of a source (a page or a linked file of a site).

    Attributes:
        locator: Where it comes from (its URL).
        path: Where its copy is kept, relative to the source's folder.
        etag: The server's ``ETag``, if it sent one.
        last_modified: The server's ``Last-Modified``, if it sent one.
        content_sha256: The hash of the body last fetched.
        checked_at: When it was last fetched or confirmed unchanged.

    """

    locator: str
    path: str
    etag: str | None = None
    last_modified: str | None = None
    content_sha256: str | None = None
    checked_at: float = 0.0


class SyncState(ABC):
    """The sync state of every source."""

    @abstractmethod
    def sync_records(self) -> list[SyncRecord]:
        """Every source's last sync, by name."""

    @abstractmethod
    def save_sync_record(self, record: SyncRecord) -> None:
        """Record a source's sync (replacing the one before)."""

    @abstractmethod
    def sync_items(self, source: str) -> dict[str, SyncItem]:
        """A source's items by locator."""

    @abstractmethod
    def save_sync_items(
        self, source: str, items: Sequence[SyncItem], removed: Sequence[str] = ()
    ) -> None:
        """Add or replace ``items`` of a source and forget the ``removed`` locators."""

    def sync_record(self, name: str) -> SyncRecord | None:
        """A source's last sync, or None when it was never synced."""
        return next((r for r in self.sync_records() if r.name == name), None)


class SqlSyncState(SqlTables, SyncState):
    """:class:`SyncState` over the store's own database (tables of the same shape on both)."""

    def sync_records(self) -> list[SyncRecord]:
        """Every source's last sync, by name."""
        rows = self._run(f"SELECT {_RECORD_COLUMNS} FROM sync_sources ORDER BY name")
        return [
            SyncRecord(
                name=row[0],
                kind=row[1],
                collection=row[2],
                started_at=float(row[3]),
                finished_at=float(row[4]),
                status=row[5],
                cursor=row[6],
                summary=json.loads(row[7]),
            )
            for row in rows
        ]

    def save_sync_record(self, record: SyncRecord) -> None:
        """Record a source's sync (replacing the one before)."""
        self._count(
            f"INSERT INTO sync_sources ({_RECORD_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, "
            "collection = excluded.collection, started_at = excluded.started_at, "
            "finished_at = excluded.finished_at, status = excluded.status, "
            "cursor = excluded.cursor, summary = excluded.summary",
            (
                record.name,
                record.kind,
                record.collection,
                record.started_at,
                record.finished_at,
                record.status,
                record.cursor,
                json.dumps(dict(record.summary), ensure_ascii=False),
            ),
        )

    def sync_items(self, source: str) -> dict[str, SyncItem]:
        """A source's items by locator."""
        rows = self._run(f"SELECT {_ITEM_COLUMNS} FROM sync_items WHERE source = ?", (source,))
        items = (SyncItem(row[0], row[1], row[2], row[3], row[4], float(row[5])) for row in rows)
        return {item.locator: item for item in items}

    def save_sync_items(
        self, source: str, items: Sequence[SyncItem], removed: Sequence[str] = ()
    ) -> None:
        """Add or replace ``items`` of a source and forget the ``removed`` locators."""
        upsert = (
            f"INSERT INTO sync_items (source, {_ITEM_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (source, locator) DO UPDATE SET path = excluded.path, "
            "etag = excluded.etag, last_modified = excluded.last_modified, "
            "content_sha256 = excluded.content_sha256, checked_at = excluded.checked_at"
        ).replace("?", self.placeholder)
        forget = "DELETE FROM sync_items WHERE source = ? AND locator = ?".replace(
            "?", self.placeholder
        )
        with self._sql_connection() as conn, self._atomically(conn):
            cursor = conn.cursor()
            if items:
                cursor.executemany(
                    upsert,
                    [
                        (
                            source,
                            item.locator,
                            item.path,
                            item.etag,
                            item.last_modified,
                            item.content_sha256,
                            item.checked_at,
                        )
                        for item in items
                    ],
                )
            if removed:
                cursor.executemany(forget, [(source, locator) for locator in removed])

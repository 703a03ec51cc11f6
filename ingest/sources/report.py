"""What one sync of one source did: the ``sync --json`` object, the line, the stored summary.

Like the ingest summary (:mod:`ingest.report`) it holds facts, not sentences: every file is
ingested, unchanged, removed or failed (with one reason), named the way its users know it (a
page by its URL); remarks about the whole sync are notes; a source that could not be synced at
all has an ``error`` and changed nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ingest.report import FileFailure, IngestReport
from ingest.sources.base import Snapshot
from rag.store.sync_state import SyncRecord

# Failures kept in the store's summary of a sync (the dashboard shows them); the rest counted.
STORED_ERRORS = 20

Status = Literal["ok", "partial", "failed"]


@dataclass
class SyncReport:
    """One source's sync.

    Attributes:
        source: The source's name.
        kind: ``folder``, ``web`` or ``git``.
        collection: The collection it syncs into.
        ingested: Files new or changed, now in the collection.
        removed: Documents removed because their files are gone.
        unchanged: Files already in the collection as they are.
        failed: Files (or pages) that could not be fetched or ingested, each with its reason.
        chunks_embedded: Chunks embedded by this sync.
        notes: One-line remarks about the whole sync (a limit reached, types skipped).
        error: Why the source could not be synced at all (then nothing changed).
        cursor: Where the source now stands (a repository's commit).
        started_at: When the sync began (Unix time).
        finished_at: When it ended.
        access_changes: Documents whose groups this sync changed.

    """

    source: str
    kind: str
    collection: str
    ingested: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[FileFailure] = field(default_factory=list)
    chunks_embedded: int = 0
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    cursor: str | None = None
    started_at: float = 0.0
    finished_at: float = 0.0
    access_changes: int = 0

    def add(self, snapshot: Snapshot, ingest: IngestReport) -> None:
        """Take in what the source fetched and what the pipeline did with it."""
        name = snapshot.name_of
        self.cursor = snapshot.cursor
        self.ingested = [name(path) for path in ingest.ingested]
        self.removed = [name(path) for path in ingest.pruned]
        self.unchanged = [name(path) for path in ingest.unchanged]
        self.failed = [
            *snapshot.failed,
            *(FileFailure(name(f.path), f.error) for f in ingest.failed),
        ]
        self.chunks_embedded = ingest.chunks_embedded
        self.access_changes = len(ingest.access_changes)
        self.notes = [*snapshot.notes, *ingest.notices]
        if ingest.skipped:
            self.notes.append(
                f"skipped {len(ingest.skipped)} files of types no loader reads "
                f"({ingest.skipped_types()})"
            )

    @property
    def status(self) -> Status:
        """``failed`` (not synced at all), ``partial`` (something failed) or ``ok``."""
        if self.error is not None:
            return "failed"
        return "partial" if self.failed else "ok"

    @property
    def changed(self) -> bool:
        """Whether the collection changed."""
        return bool(self.ingested or self.removed)

    def counts(self) -> dict[str, int]:
        """How many files ended each way, and the chunks embedded."""
        return {
            "ingested": len(self.ingested),
            "removed": len(self.removed),
            "unchanged": len(self.unchanged),
            "failed": len(self.failed),
            "chunks_embedded": self.chunks_embedded,
        }

    def to_json(self) -> dict[str, Any]:
        """The stable ``sync --json`` shape of one source."""
        return {
            "name": self.source,
            "type": self.kind,
            "collection": self.collection,
            "status": self.status,
            "ingested": self.ingested,
            "removed": self.removed,
            "unchanged": self.unchanged,
            "failed": [{"path": f.path, "error": f.error} for f in self.failed],
            "chunks_embedded": self.chunks_embedded,
            "notes": self.notes,
            "error": self.error,
            "commit": self.cursor,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }

    def record(self) -> SyncRecord:
        """What the store keeps of it (the dashboard's row): counts and the first errors."""
        errors = [f"{f.path}: {f.error}" for f in self.failed[:STORED_ERRORS]]
        summary: dict[str, Any] = {
            **self.counts(),
            "errors": errors,
            "more_errors": max(0, len(self.failed) - STORED_ERRORS),
            "notes": self.notes,
            "error": self.error,
        }
        return SyncRecord(
            name=self.source,
            kind=self.kind,
            collection=self.collection,
            started_at=self.started_at,
            finished_at=self.finished_at,
            status=self.status,
            cursor=self.cursor,
            summary=summary,
        )

"""Sync a source: bring its collection to the source's current state, and remember how it went.

One sync of one source: take the source's lock (a second sync of it, by ``--watch`` or another
shell, is refused in one line rather than racing on its copy), let the source bring its files up
to date (:meth:`~ingest.sources.base.Source.snapshot`), ingest them with pruning (new and
changed files ingested, files that are gone removed, unchanged ones skipped: nothing is embedded
twice), let the source keep its state, and store the sync's record for the dashboard. A sync
that changed the collection is on the audit trail (``sync``), and every change of a document's
groups on the way too, as any ingest's.

Every source fails alone: whatever one does wrong ends as its report's ``error`` (nothing of
its collection changed) or as failed files, and the next source is synced.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Protocol

from ingest.discovery import FoundFiles
from ingest.report import IngestReport, ProgressCallback
from ingest.sources.base import SOURCES_FOLDER, Snapshot, SourceError, SyncContext, source_for
from ingest.sources.report import SyncReport
from rag.access.audit import LOCAL, Actor, AuditEntry, AuditLog
from rag.config import Settings
from rag.config.sync_sections import SourceSettings
from rag.errors import BllossomRagError, CollectionNotFoundError, ConfigError
from rag.runtime.files import is_inside
from rag.store import DocumentStore

# Who syncs when nobody is named: the local user, through the sync.
SYNC = Actor("local", "sync")


class Ingesting(Protocol):
    """What ingests a snapshot: the :class:`~ingest.pipeline.Ingestor`, or its parallel form."""

    def ingest(
        self,
        files: FoundFiles,
        *,
        collection: str,
        groups: Sequence[str] | None = None,
        on_progress: ProgressCallback | None = None,
        prune: bool = False,
        actor: Actor = LOCAL,
    ) -> IngestReport:
        """Ingest ``files`` into ``collection`` (see :meth:`ingest.pipeline.Ingestor.ingest`)."""
        ...


class Syncer:
    """Syncs the configured sources of one store.

    Args:
        settings: The configuration (``[[sources]]``, ``[sync]``, the ingest limits).
        store: The store the collections are in.
        ingestor: Makes the ingestor for a collection (its embedder follows the collection).
        actor: Who syncs, for the audit trail (surface ``sync``).
        audit: The trail; None records nothing.

    """

    def __init__(
        self,
        settings: Settings,
        store: DocumentStore,
        ingestor: Callable[[str], Ingesting],
        *,
        actor: Actor = SYNC,
        audit: AuditLog | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.ingestor = ingestor
        self.actor = actor
        self.audit = audit

    def sources(self, names: Sequence[str] = ()) -> list[SourceSettings]:
        """The sources named (all when none is), in the configuration's order.

        Raises:
            ConfigError: None is configured, or a name is not one of them.

        """
        configured = self.settings.sources
        if not configured:
            msg = (
                "no sources are configured: add a [[sources]] table (name, type, path or url) "
                "to bllossom-rag.toml"
            )
            raise ConfigError(msg)
        known = [source.name for source in configured]
        unknown = [name for name in names if name not in known]
        if unknown:
            msg = f"no source named {unknown[0]!r}; configured: {', '.join(known)}"
            raise ConfigError(msg)
        return [source for source in configured if not names or source.name in names]

    def sync(
        self, source: SourceSettings, on_progress: ProgressCallback | None = None
    ) -> SyncReport:
        """Sync one source; whatever goes wrong is in the report, never raised."""
        collection = source.collection_or(self.settings.collection)
        report = SyncReport(source.name, source.type, collection, started_at=time.time())
        previous = self.store.sync_record(source.name)
        try:
            with self._lock(source.name):
                self._run(source, collection, report, on_progress)
        except BllossomRagError as error:
            report.error = str(error)
            report.cursor = previous.cursor if previous else None
        report.finished_at = time.time()
        self.store.save_sync_record(report.record())
        if report.changed and self.audit is not None:
            self.audit.record(self._entry(report))
        return report

    def _run(
        self,
        source: SourceSettings,
        collection: str,
        report: SyncReport,
        on_progress: ProgressCallback | None,
    ) -> None:
        context = SyncContext(
            settings=source,
            folder=self._folder() / source.name,
            store=self.store,
            max_file_bytes=self.settings.ingest.max_file_bytes,
            user_agent=self.settings.sync.user_agent,
        )
        syncing = source_for(context)
        snapshot = syncing.snapshot()
        self._refuse_emptying(source, collection, snapshot)
        ingested = self.ingestor(collection).ingest(
            snapshot.found,
            collection=collection,
            groups=source.groups,
            on_progress=on_progress,
            prune=True,
            actor=self.actor,
        )
        syncing.synced(snapshot)
        report.add(snapshot, ingested)

    def _refuse_emptying(self, source: SourceSettings, collection: str, snap: Snapshot) -> None:
        """Refuse a sync that finds nothing where the collection holds the source's documents.

        An unmounted share, a site answering with errors: removing every document for it is
        never what was meant, so the documents are kept and the sync fails in one line.
        """
        if snap.found.to_ingest:
            return
        try:
            held = [
                d for d in self.store.documents(collection) if is_inside(d.source_path, snap.root)
            ]
        except CollectionNotFoundError:
            return
        if held:
            msg = (
                f"source {source.name!r} has no files to ingest now; its {len(held)} documents "
                f"were kept (a share that is not mounted, a site that failed?). To empty it, "
                f"run: bllossom-rag docs remove {snap.root} --collection {collection}"
            )
            raise SourceError(msg)

    def _folder(self) -> Path:
        folder = Path(self.settings.data_dir) / SOURCES_FOLDER
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    @contextlib.contextmanager
    def _lock(self, name: str) -> Iterator[None]:
        """Hold the source's lock for the sync, or refuse at once when another sync holds it."""
        descriptor = os.open(self._folder() / f".{name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                msg = f"another sync of {name!r} is running; this one was skipped"
                raise SourceError(msg) from None
            yield
        finally:
            os.close(descriptor)  # closing releases the lock

    def _entry(self, report: SyncReport) -> AuditEntry:
        return AuditEntry(
            time=report.finished_at,
            who=self.actor.who,
            surface=self.actor.surface,
            action="sync",
            collection=report.collection,
            detail={"source": report.source, "commit": report.cursor, **report.counts()},
        )

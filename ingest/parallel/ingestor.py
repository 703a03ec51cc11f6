"""Parallel ingest: N worker processes parse, chunk and embed; one ordered commit stream.

``ingest --workers N`` and ``sync --workers N`` cut the files into jobs of consecutive files.
Each worker process (:mod:`ingest.parallel.worker`) runs the ordinary pipeline on its jobs
against the store, read only, and sends its commits back; this process commits them in the
files' order, one transaction per batch as the pipeline makes them, records the changes of
groups on the audit trail, prunes, and builds the search views once at the end. What the store
holds afterwards is what a sequential run leaves.

Workers match files to stored documents each on their own, so two of them could both take over
one moved document (two copies of a file whose original is gone). The second such commit is not
applied; that file is ingested again here, after the first, exactly as a sequential run would.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ingest.discovery import Candidate, FoundFiles
from ingest.identity import Catalog
from ingest.parallel.pool import WorkerPool
from ingest.parallel.wire import (
    WireError,
    candidate_json,
    failed_job,
    merge_report,
    update_of,
)
from ingest.pipeline import Ingestor
from ingest.report import FileFailure, IngestProgress, IngestReport, ProgressCallback
from rag.access.audit import LOCAL, Actor
from rag.config import Settings
from rag.store import DocumentUpdate
from rag.store.full_disk import writing_under

# A job holds at most this many files, so every worker gets several jobs to balance the load.
MAX_JOB_FILES = 32


@dataclass
class _Run:
    collection: str
    report: IngestReport
    actor: Actor
    roots: tuple[str, ...]
    committed: dict[str, str]  # document id -> the path committed under it in this run


class ParallelIngestor:
    """The pipeline with ``workers`` processes doing the reading, chunking and embedding.

    Args:
        ingestor: The in-process pipeline: it commits, prunes and builds the views.
        settings: The configuration the workers load too (its ``[ingest]`` as given here).
        workers: How many worker processes.

    """

    def __init__(self, ingestor: Ingestor, settings: Settings, workers: int) -> None:
        self.ingestor = ingestor
        self.settings = settings
        self.workers = workers

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
        store = self.ingestor.store
        self.ingestor.existing_documents(collection)  # refuses a collection of another embedder
        report = IngestReport(skipped=[str(c.path) for c in files.skipped])
        run = _Run(collection, report, actor, tuple(str(r) for r in files.roots), {})
        candidates = files.to_ingest
        ready = [c for c in candidates if c.error is None]
        report.failed.extend(
            FileFailure.of(str(c.source), c.error) for c in candidates if c.error is not None
        )
        jobs = _jobs(ready, self.workers)
        setup = {
            "collection": collection,
            "ingest": self.settings.ingest.model_dump(mode="json"),
            "groups": None if groups is None else list(groups),
        }
        done = len(candidates) - len(ready)
        with (
            writing_under(store.data_dir),
            store.images.in_use(),
            WorkerPool(self.workers, setup) as pool,
        ):
            wire_jobs = [
                {"roots": run.roots, "files": [candidate_json(c) for c in j]} for j in jobs
            ]
            for job, answer in zip(jobs, pool.answers(wire_jobs), strict=True):
                self._apply(run, job, answer, groups)
                done += len(job)
                if on_progress is not None:
                    progress = IngestProgress(done, len(candidates), report.chunks_embedded, "")
                    on_progress(progress)
        if prune:
            present = {str(c.source) for c in files.candidates}
            documents = self.ingestor.existing_documents(collection)
            gone = Catalog(collection, documents).gone_under(files.roots, present)
            if gone:
                store.commit(collection, removals=[d.id for d in gone])
                report.pruned.extend(d.source_path for d in gone)
        self.ingestor.finish(collection)
        return report

    def _apply(
        self,
        run: _Run,
        job: list[Candidate],
        answer: dict[str, Any],
        groups: Sequence[str] | None,
    ) -> None:
        """Commit a job's batches in order and merge its report; a broken answer fails its files."""
        if "error" in answer:
            failed_job(run.report, job, str(answer["error"]))
            return
        dimension = self.ingestor.embeddings.dimension
        try:
            batches = [
                [update_of(item, run.collection, dimension) for item in batch]
                for batch in answer["commits"]
            ]
            job_report = IngestReport()
            merge_report(job_report, answer["report"])
        except (WireError, KeyError, TypeError) as error:
            failed_job(run.report, job, f"the ingest worker's answer was refused: {error}")
            return
        again = self._commit(run, batches)
        for path in again:
            _forget(job_report, path)
        _merge(run.report, job_report)
        audit = self.ingestor.audit
        if audit is not None:
            for change in job_report.access_changes:
                audit.record(change.audit_entry(run.actor, run.collection))
        if again:
            redo = tuple(c for c in job if str(c.source) in again)
            found = FoundFiles(tuple(c.path for c in redo), redo)
            _merge(
                run.report,
                self.ingestor.ingest(
                    found, collection=run.collection, groups=groups, actor=run.actor
                ),
            )

    def _commit(self, run: _Run, batches: list[list[DocumentUpdate]]) -> set[str]:
        """Commit the batches; the paths whose document another file of this run took first."""
        again: set[str] = set()
        for batch in batches:
            kept = []
            for update in batch:
                taken_by = run.committed.get(update.document.id)
                if taken_by is not None and taken_by != update.document.source_path:
                    again.add(update.document.source_path)
                    continue
                run.committed[update.document.id] = update.document.source_path
                kept.append(update)
            if kept:
                self.ingestor.commit(run.collection, kept)
        return again


def _jobs(files: list[Candidate], workers: int) -> list[list[Candidate]]:
    """Consecutive files cut into jobs: about four per worker, at most ``MAX_JOB_FILES`` each."""
    size = max(1, min(MAX_JOB_FILES, -(-len(files) // (4 * workers))))
    return [files[start : start + size] for start in range(0, len(files), size)]


def _forget(report: IngestReport, path: str) -> None:
    """Take a file's results out of a job's report (it is ingested again)."""
    report.ingested = [p for p in report.ingested if p != path]
    report.details.pop(path, None)
    report.access_changes = [c for c in report.access_changes if c.path != path]


def _merge(into: IngestReport, report: IngestReport) -> None:
    into.ingested.extend(report.ingested)
    into.unchanged.extend(report.unchanged)
    into.failed.extend(report.failed)
    into.chunks_embedded += report.chunks_embedded
    into.chunks_reused += report.chunks_reused
    into.details.update(report.details)
    into.notice(*report.notices)
    into.access_changes.extend(report.access_changes)

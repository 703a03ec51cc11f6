"""An ingest worker: parses, chunks and embeds the files of each job, commits nothing.

Run as ``python -m ingest.parallel.worker`` by :class:`ingest.parallel.pool.WorkerPool`, with the
parent's environment and working folder (so it reads the same settings). The first line on
stdin says the collection, the ``[ingest]`` settings and the run's groups; every further line is
a job (files to ingest). For each job the worker runs the ordinary pipeline
(:class:`~ingest.pipeline.Ingestor`: the same catalog matching, content checks, loaders, limits,
chunking and reuse of stored vectors) against the store, read only: its commits are staged and
sent back, one JSON line per job, and the parent commits them in order. Whatever the libraries
print goes to stderr; stdout carries only the answers.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from ingest.discovery import FoundFiles
from ingest.parallel.wire import candidate_of, report_json, update_json
from ingest.pipeline import Ingestor
from rag.config import Settings
from rag.config.sections import IngestSettings
from rag.config.settings import load_settings
from rag.errors import BllossomRagError
from rag.store import DocumentUpdate


class StagedIngestor(Ingestor):
    """The pipeline with its commits kept for the parent, and no views built."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.staged: list[list[DocumentUpdate]] = []

    def commit(self, collection: str, updates: list[DocumentUpdate]) -> None:
        """Keep the batch for the parent, which commits it in order."""
        self.staged.append(updates)

    def finish(self, collection: str, on_start: Callable[[], None] | None = None) -> None:
        """The parent builds the views once, after the last commit."""


def main() -> None:
    """Answer jobs until stdin closes."""
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a library's print cannot break a line
    setup = json.loads(sys.stdin.readline())
    settings = load_settings()
    settings = settings.model_copy(
        update={"ingest": IngestSettings.model_validate(setup["ingest"])}
    )
    collection: str = setup["collection"]
    groups = setup["groups"]
    from rag.assistant import Assistant

    assistant = Assistant(settings)
    try:
        ingestor: StagedIngestor | None = None
        for line in sys.stdin:
            if ingestor is None:
                ingestor = _ingestor(settings, assistant, collection)
            _answer(answers, _job(ingestor, json.loads(line), collection, groups))
    finally:
        assistant.close()


def _ingestor(settings: Settings, assistant: Any, collection: str) -> StagedIngestor:
    ingestor = StagedIngestor.from_settings(
        settings,
        assistant.store,
        assistant.embeddings_for(collection),
        llm=lambda: assistant.llm,
    )
    ingestor.audit = None  # the parent records the changes of groups it commits
    return ingestor


def _job(
    ingestor: StagedIngestor, job: dict[str, Any], collection: str, groups: list[str] | None
) -> dict[str, Any]:
    ingestor.staged = []
    found = FoundFiles(
        tuple(Path(root) for root in job["roots"]),
        tuple(candidate_of(item) for item in job["files"]),
    )
    try:
        report = ingestor.ingest(found, collection=collection, groups=groups)
    except BllossomRagError as error:
        return {"error": str(error)}
    commits = [[update_json(update) for update in batch] for batch in ingestor.staged]
    return {"commits": commits, "report": report_json(report)}


def _answer(answers: IO[str], answer: dict[str, Any]) -> None:
    answers.write(json.dumps(answer, ensure_ascii=False) + "\n")
    answers.flush()


if __name__ == "__main__":
    main()

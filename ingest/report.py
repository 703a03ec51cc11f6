"""What one ingest run did to every file, and the progress it reports on the way.

The report holds facts (counts, paths, reasons), not sentences: the command line, the web app
and scripts reading ``--json`` each word them in their own language and with their own plural
rules, and none of them has to parse a string the pipeline made up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from ingest.discovery import count_types
from ingest.groups import GroupChange
from rag.errors import IngestError, Message


@dataclass(frozen=True)
class FileFailure:
    """A file that could not be ingested, and why.

    Attributes:
        path: The file.
        error: Why, in English, with the template the UI translates it by
            (:class:`rag.errors.Message`).

    """

    path: str
    error: Message

    @classmethod
    def of(cls, path: str, error: IngestError) -> FileFailure:
        """The failure ``error`` made of ``path``."""
        return cls(path, error.message)


@dataclass(frozen=True)
class FileDetail:
    """What an ingested file became.

    Attributes:
        chunks: Chunks it has now (image chunks included).
        images: How many of them are images.
        notes: What was left out inside it (e.g. images past ``ingest.max_images_per_file``).
        moved_from: The path it was stored under before, when the file moved.

    """

    chunks: int
    images: int = 0
    notes: tuple[Message, ...] = ()
    moved_from: str | None = None


@dataclass
class IngestReport:
    """What happened to every file of one ingest run.

    ``details`` says, per ingested file, what it became; ``pruned`` lists documents removed
    because their files are gone; ``skipped`` lists files found in folders whose type no
    loader reads; ``notices`` are about the whole run rather than one file (OCR is not
    installed, say), each said once however many files it touched; ``access_changes`` lists
    every stored document whose groups this run changed (:mod:`ingest.groups`).
    """

    ingested: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[FileFailure] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    chunks_embedded: int = 0
    chunks_reused: int = 0
    pruned: list[str] = field(default_factory=list)
    details: dict[str, FileDetail] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)
    access_changes: list[GroupChange] = field(default_factory=list)

    def notice(self, *texts: str) -> None:
        """Record run-wide notices, each once."""
        self.notices.extend(text for text in dict.fromkeys(texts) if text not in self.notices)

    def to_json(self) -> dict[str, Any]:
        """The stable ``--json`` shape."""
        return {
            "ingested": self.ingested,
            "unchanged": self.unchanged,
            "failed": [{"path": f.path, "error": f.error} for f in self.failed],
            "skipped": self.skipped,
            "chunks_embedded": self.chunks_embedded,
            "notices": self.notices,
            "access_changes": [change.to_json() for change in self.access_changes],
        }

    def skipped_types(self) -> str:
        """The skipped files counted by type, most common first: ``.hwp 5, .xlsx 2``."""
        return count_types(self.skipped)


# What an ingest is doing: saving uploads (:mod:`ingest.uploads`), reading files, embedding a
# batch of chunks, committing it, updating the search index at the end, done.
Stage = Literal["saving", "reading", "embedding", "committing", "indexing", "done"]


@dataclass(frozen=True)
class IngestProgress:
    """A progress snapshot, sent after each file and as each batch embeds and commits."""

    files_done: int
    files_total: int
    chunks_embedded: int
    current: str
    stage: Stage = "reading"


ProgressCallback = Callable[[IngestProgress], None]

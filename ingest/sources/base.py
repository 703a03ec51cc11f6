"""What every source is: something that puts its current files in a folder, for the pipeline.

A source's :meth:`Source.snapshot` brings its local copy up to date and says which of its files
are to be ingested (:class:`Snapshot`); the sync (:mod:`ingest.sources.sync`) ingests them with
pruning, so a file missing from the copy is a document removed. A source therefore decides what
is gone by what it deletes from its copy: a site deletes a page's copy only when the server
says it is gone or a complete crawl no longer reaches it, never because a crawl stopped early.

A source that cannot be synced at all (a folder that is not there, a repository that cannot be
fetched) raises :class:`SourceError`, one line, and nothing of its collection changes.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.discovery import Candidate, FoundFiles
from ingest.report import FileFailure
from rag.access.rules import glob_pattern
from rag.config.sync_sections import SourceSettings
from rag.errors import BllossomRagError

if TYPE_CHECKING:
    from rag.store import DocumentStore

# Where the sources' copies live, under data_dir.
SOURCES_FOLDER = "sources"


class SourceError(BllossomRagError):
    """A source could not be synced at all (one line: which source, what, what to do)."""


@dataclass
class Snapshot:
    """A source's files as they are now, in a local folder.

    Attributes:
        root: The folder holding them (pruning looks under it).
        found: The files to ingest, already narrowed by the source's include and exclude globs.
        cursor: Where the source stands (a repository's commit), if it has such a thing.
        failed: Items that failed before ingestion (a page that could not be fetched).
        notes: One-line remarks about the whole sync (a crawl stopped at a limit).
        names: How users know a file, when not by its path (a page's URL), by path.

    """

    root: Path
    found: FoundFiles
    cursor: str | None = None
    failed: list[FileFailure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)

    def name_of(self, path: str) -> str:
        """What users know the file at ``path`` by."""
        return self.names.get(path, path)


@dataclass(frozen=True)
class SyncContext:
    """What a source needs from the sync: its settings, its folder, the store, the limits."""

    settings: SourceSettings
    folder: Path  # data_dir/sources/<name>: the source's own copy, when it keeps one
    store: DocumentStore
    max_file_bytes: int
    user_agent: str


class Source(ABC):
    """A folder, a site or a repository, as configured in ``[[sources]]``."""

    def __init__(self, context: SyncContext) -> None:
        self.context = context
        self.settings = context.settings

    @abstractmethod
    def snapshot(self) -> Snapshot:
        """Bring the local copy up to date; the files to ingest.

        Raises:
            SourceError: The source cannot be synced at all.

        """

    def synced(self, snapshot: Snapshot) -> None:  # noqa: B027 (optional hook)
        """Called once the snapshot was ingested: keep what the next sync needs."""

    def select(self, found: FoundFiles, root: Path) -> FoundFiles:
        """``found`` narrowed to the paths the include globs take and the exclude globs leave."""
        globs = Globs(self.settings.include, self.settings.exclude)
        kept = tuple(c for c in found.candidates if globs.take(relative_path(c, root)))
        return replace(found, candidates=kept)


@dataclass(frozen=True)
class Globs:
    """Include and exclude globs over paths relative to a source (``**`` crosses folders)."""

    include: Sequence[str] = ()
    exclude: Sequence[str] = ()

    def take(self, relative: str) -> bool:
        """Whether a path is part of the source."""
        if self.include and not any(_matches(glob, relative) for glob in self.include):
            return False
        return not any(_matches(glob, relative) for glob in self.exclude)


def _matches(glob: str, relative: str) -> bool:
    return re.fullmatch(glob_pattern(glob.lstrip("/")), relative) is not None


def relative_path(candidate: Candidate, root: Path) -> str:
    """A found file's path relative to the folder it was found under."""
    if candidate.key and "/" in candidate.key:
        return candidate.key.split("/", 1)[1]
    try:
        return candidate.path.relative_to(root).as_posix()
    except ValueError:
        return candidate.path.name


def source_for(context: SyncContext) -> Source:
    """The source a ``[[sources]]`` table describes."""
    from ingest.sources.folder import FolderSource
    from ingest.sources.git import GitSource
    from ingest.sources.web import WebSource

    kinds: dict[str, type[Source]] = {"folder": FolderSource, "web": WebSource, "git": GitSource}
    return kinds[context.settings.type](context)

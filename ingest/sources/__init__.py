"""Sources kept in sync: folders, intranet sites and git repositories (``[[sources]]``).

Each source turns what it holds into local files (a folder is its own; a site's pages are
copied into ``data_dir/sources/<name>``; a repository is checked out there), and the one
ingestion pipeline brings the source's collection to them: new and changed files ingested,
files that are gone removed, unchanged ones skipped (:mod:`ingest.sources.sync`).
"""

from ingest.sources.base import Source, SourceError, source_for
from ingest.sources.report import SyncReport
from ingest.sources.sync import Syncer

__all__ = ["Source", "SourceError", "SyncReport", "Syncer", "source_for"]

"""A folder source: a local or mounted folder, ingested where it lies (``type = "folder"``).

Its files are recorded at their own paths, exactly as ``bllossom-rag ingest FOLDER`` records
them, so a folder ingested by hand and then configured as a source is the same documents.
The access rules apply by path as for any ingest; include and exclude globs narrow it.
"""

from __future__ import annotations

from ingest.discovery import find_files
from ingest.sources.base import Snapshot, Source, SourceError


class FolderSource(Source):
    """The files under ``path``."""

    def snapshot(self) -> Snapshot:
        """The folder's files, narrowed by the globs.

        Raises:
            SourceError: The folder does not exist or is not a folder.

        """
        assert self.settings.path is not None  # the settings require it
        folder = self.settings.path
        if not folder.is_dir():
            msg = (
                f"source {self.settings.name!r}: {folder} is not a folder (not mounted?); "
                "its documents were kept"
            )
            raise SourceError(msg)
        root = folder.resolve()
        return Snapshot(root, self.select(find_files([root], allow_missing=True), root))

"""What every search view of a collection is: a cache of SQLite rows, tagged with a commit.

The dense (FAISS) and the sparse (BM25) view differ in what they hold and how they search, not
in how they stay correct, so that part lives here once, as a template:

- **open**: load the newest checkpoint if it is usable (this store's, this format, every field
  and array what it should be; anything else, whatever it is, means: rebuild), then catch up;
- **catch up**: when the collection's commit sequence moved, diff the vector ids the view holds
  against those SQLite holds, drop the stale ones and read in the missing ones; this is correct
  after any crash, concurrent writer or lost file, and costs only what changed. A view trusts
  its ids only while SQLite still has the view's own commit, by number *and* random token: a
  database restored from a backup or rolled back by a power cut numbers its next commits (and
  vector ids) again, so a number alone would let the view serve another document's vectors and
  postings under reused ids; then the view is rebuilt;
- **apply**: follow a commit made by this process from its delta, without re-reading the table
  (or catch up, when another process committed in between);
- **checkpoint**: publish the view's files and a manifest atomically
  (:mod:`rag.store.checkpoint`), only when something changed.

A subclass supplies the parts that differ: reading and writing its files, the vector ids it
holds, and how to drop and add rows.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from rag.store.checkpoint import (
    UnusableCheckpointError,
    publish,
    read_manifest,
    whole_number,
)
from rag.store.commit import CommitDelta
from rag.store.database import Database
from rag.store.records import NO_COMMIT, CommitHead

logger = logging.getLogger(__name__)


class View(ABC):
    """A rebuildable search view of one collection.

    Args:
        folder: This view's checkpoint folder.
        collection: The collection it indexes.
        database: Where the rows come from.

    Attributes:
        head: The commit the view reflects.
        dirty: Whether it changed since it was loaded or checkpointed.

    """

    FORMAT: ClassVar[int]  # bump when the files change: older checkpoints are then rebuilt

    def __init__(self, folder: Path, collection: str, database: Database) -> None:
        self.folder = folder
        self.collection = collection
        self.database = database
        self.head = NO_COMMIT
        self.dirty = False

    def open(self) -> None:
        """Load the newest usable checkpoint (or start empty) and catch up with SQLite."""
        manifest = read_manifest(self.folder)
        if manifest is not None:
            try:
                self._load(manifest)
            except Exception as error:  # a view is a cache: whatever is wrong, rebuild it
                logger.warning("rebuilding %s: %s", self.folder, error)
                self._clear()
        self.catch_up()

    def _load(self, manifest: Mapping[str, Any]) -> None:
        if manifest.get("format") != self.FORMAT:
            msg = "saved in another format"
            raise UnusableCheckpointError(msg)
        if manifest.get("store") != self.database.store_id:
            # Vector ids are only unique within one store: another store's view would map
            # them to the wrong chunks.
            msg = "written for another store (its database was replaced)"
            raise UnusableCheckpointError(msg)
        seq, count = whole_number(manifest, "seq"), whole_number(manifest, "count")
        head = CommitHead(seq, str(manifest.get("commit", "")))
        if not self._known(head):
            msg = f"its commit {seq} is not this database's (restored from a backup?)"
            raise UnusableCheckpointError(msg)
        self._read(manifest, seq)
        if len(self) != count:
            msg = f"the checkpoint holds {len(self)} chunks, its manifest says {count}"
            raise UnusableCheckpointError(msg)
        self.head = head

    def _known(self, head: CommitHead) -> bool:
        """Whether SQLite holds the commit ``head`` (an empty view's no-commit always is)."""
        return head == NO_COMMIT or self.database.commit_token(head.seq) == head.token

    @abstractmethod
    def __len__(self) -> int:
        """How many chunks the view holds."""

    @abstractmethod
    def ids(self) -> np.ndarray:
        """Every vector id the view holds."""

    # --- following SQLite --------------------------------------------------------------------

    def catch_up(self) -> None:
        """Make the view hold exactly the chunks SQLite holds for its collection."""
        target = self.database.head(self.collection)
        if target == self.head:
            return
        if not self._known(self.head):  # SQLite went back in time: the ids were handed out again
            logger.warning("rebuilding %s: its commit is no longer in the database", self.folder)
            self._clear()
            self.head = NO_COMMIT
            self.dirty = True
        wanted = self.database.vector_ids(self.collection)
        present = self.ids()
        stale = np.setdiff1d(present, wanted, assume_unique=True)
        missing = np.setdiff1d(wanted, present, assume_unique=True)
        if len(stale) or len(missing):
            self._follow(stale, missing, fresh=len(missing) == len(wanted))
            self.dirty = True
        self.head = target

    def apply(self, delta: CommitDelta) -> None:
        """Follow one commit made through this process's database."""
        if delta.previous != self.head:  # another process committed in between
            self.catch_up()
            return
        self._apply(delta)
        self.head = delta.head
        self.dirty = True

    def _apply(self, delta: CommitDelta) -> None:
        """Follow ``delta`` (by default by reading its added rows back)."""
        self._follow(delta.removed_ids, delta.added_ids, fresh=False)

    @abstractmethod
    def _follow(self, stale: np.ndarray, missing: np.ndarray, *, fresh: bool) -> None:
        """Drop the ``stale`` vector ids and read the ``missing`` ones from SQLite.

        ``fresh`` says the view holds none of the collection's chunks, so reading the whole
        collection in one scan beats looking up every id.
        """

    # --- checkpoints -------------------------------------------------------------------------

    def checkpoint(self) -> None:
        """Publish the view's files and manifest if it changed since it was loaded or saved."""
        if not self.dirty:
            return
        files, extra = self._files()
        manifest = {
            "format": self.FORMAT,
            "store": self.database.store_id,
            "seq": self.head.seq,
            "commit": self.head.token,
            "count": len(self),
            **extra,
        }
        publish(self.folder, files, manifest)
        self.dirty = False

    @abstractmethod
    def _read(self, manifest: Mapping[str, Any], seq: int) -> None:
        """Load the files that ``manifest`` (of commit ``seq``) names.

        Raises:
            Exception: Anything at all: the view is then cleared and rebuilt from SQLite.

        """

    @abstractmethod
    def _clear(self) -> None:
        """Forget everything loaded (the view then rebuilds on catch-up)."""

    @abstractmethod
    def _files(self) -> tuple[dict[str, Callable[[str], object]], dict[str, Any]]:
        """The files to publish (name -> writer of a temp path) and the manifest's own fields."""

"""The FAISS view of one collection: fast to search, cheap to lose.

SQLite holds every vector; this index is a cache of them tagged with the commit sequence it
reflects. On open it loads the newest checkpoint and catches up by set difference against the
vector ids in SQLite (ids added since are read back, ids gone are removed), so it is correct
after any crash, concurrent writer or deleted file, and only pays for what changed. A missing,
truncated or foreign file is rebuilt from the rows.

Checkpoints use a manifest: ``<collection>/index.<seq>.faiss`` is written under a fresh name
(temp file, fsync, rename), then ``manifest.json`` is atomically switched to point at it, then
older checkpoints are deleted. A reader therefore sees either the old or the new checkpoint,
never half of one. ``faiss.write_index`` is FAISS's own binary format: nothing is unpickled.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from rag.store.database import Database

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
INDEX_KIND = "flat-ip"


@dataclass(frozen=True)
class _Manifest:
    seq: int
    count: int
    dimension: int
    kind: str
    file: str


class DenseIndex:
    """Inner-product search over normalized vectors, with SQLite vector ids as FAISS ids.

    Args:
        folder: This collection's folder for checkpoints.
        dimension: Vector size; a checkpoint of another size is discarded.

    """

    def __init__(self, folder: Path, dimension: int) -> None:
        self.folder = folder
        self.dimension = dimension
        self.seq = 0
        self.dirty = False
        self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))

    @classmethod
    def open(cls, folder: Path, collection: str, dimension: int, database: Database) -> DenseIndex:
        """Load the newest checkpoint (or start empty) and catch up with ``database``."""
        view = cls(folder, dimension)
        view._load_checkpoint()
        view.catch_up(database, collection)
        return view

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def _load_checkpoint(self) -> None:
        manifest = self._read_manifest()
        if manifest is None:
            return
        if manifest.dimension != self.dimension or manifest.kind != INDEX_KIND:
            logger.warning("discarding %s: built for another embedder or index kind", self.folder)
            return
        try:
            index = faiss.read_index(str(self.folder / manifest.file))
        except RuntimeError as error:  # truncated or foreign file: FAISS raises, never crashes
            logger.warning("rebuilding %s: unreadable checkpoint (%s)", self.folder, error)
            return
        if index.d != self.dimension or index.ntotal != manifest.count:
            logger.warning("rebuilding %s: checkpoint does not match its manifest", self.folder)
            return
        self._index = index
        self.seq = manifest.seq

    def _read_manifest(self) -> _Manifest | None:
        try:
            data = json.loads((self.folder / MANIFEST).read_text())
            return _Manifest(**data)
        except FileNotFoundError:
            return None
        except (ValueError, TypeError) as error:
            logger.warning("ignoring %s/%s: %s", self.folder, MANIFEST, error)
            return None

    # --- keeping up with SQLite --------------------------------------------------------------

    def catch_up(self, database: Database, collection: str) -> None:
        """Make the index hold exactly the vectors SQLite holds for ``collection``."""
        target_seq = database.last_seq(collection)
        if target_seq == self.seq:
            return
        wanted = database.vector_ids(collection)
        present = faiss.vector_to_array(self._index.id_map).astype(np.int64)
        stale = np.setdiff1d(present, wanted, assume_unique=True)
        missing = np.setdiff1d(wanted, present, assume_unique=True)
        self.remove(stale)
        for ids, matrix in database.iter_vectors(collection, missing, self.dimension):
            self.add(ids, matrix)
        self.seq = target_seq
        self.dirty = self.dirty or bool(len(stale) or len(missing))

    def apply(
        self, seq: int, removed: np.ndarray, added_ids: np.ndarray, added: np.ndarray
    ) -> None:
        """Follow one commit made by this process without re-reading SQLite."""
        self.remove(removed)
        if len(added_ids):
            self.add(added_ids, added)
        self.seq = seq
        self.dirty = True

    def add(self, ids: np.ndarray, matrix: np.ndarray) -> None:
        """Add vectors under the given ids."""
        if len(ids):
            self._index.add_with_ids(np.ascontiguousarray(matrix, dtype=np.float32), ids)

    def remove(self, ids: np.ndarray) -> None:
        """Remove vectors by id (unknown ids are ignored)."""
        if len(ids):
            self._index.remove_ids(faiss.IDSelectorBatch(np.ascontiguousarray(ids, np.int64)))

    # --- search ------------------------------------------------------------------------------

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The ``k`` nearest vector ids to one query vector, best first, with their scores."""
        if not len(self):
            return []
        matrix = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        scores, ids = self._index.search(matrix, min(k, len(self)))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    # --- checkpoints -------------------------------------------------------------------------

    def save(self) -> None:
        """Write a checkpoint atomically, then drop older ones."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with self._exclusive():
            name = f"index.{self.seq}.faiss"
            _atomic_write(self.folder / name, lambda tmp: faiss.write_index(self._index, tmp))
            manifest = _Manifest(self.seq, len(self), self.dimension, INDEX_KIND, name)
            payload = json.dumps(manifest.__dict__).encode()
            _atomic_write(self.folder / MANIFEST, lambda tmp: Path(tmp).write_bytes(payload))
            for old in self.folder.glob("index.*.faiss"):
                if old.name != name:
                    old.unlink(missing_ok=True)
        self.dirty = False

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        # Two processes may checkpoint the same collection; the lock keeps one from deleting
        # the file the other's manifest has just switched to.
        with (self.folder / ".lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _atomic_write(path: Path, write: Callable[[str], object]) -> None:
    """Write via ``write(tmp_path)``, fsync, then rename over ``path`` and fsync the folder."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(str(tmp))
        with tmp.open("rb") as handle:
            os.fsync(handle.fileno())
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)

"""Which stored document a found file is: ids that survive moving the folder they live in.

A document's id hashes its collection and its *key*, the file's path relative to the root it
was found under, the root's own name included (``handbook/leave.md`` for ``ingest
~/docs/handbook``; a file named on its own is keyed by its name). The absolute path is not part
of it, so the same tree ingested from another place is the same documents. A chunk's id hashes
its document, page and text, so an unchanged document keeps its chunks and their vectors
wherever its file now lies.

Keys alone are not enough, because the store also remembers what was ingested before: by an
older version that hashed absolute paths, from a root with the same name elsewhere, or from a
folder that has since been renamed. :class:`Catalog` therefore matches a found file to a stored
document in a fixed order: the document recorded at the same absolute path (it keeps its id,
whichever scheme made it); else the document holding the key's id, when its own file is gone
(the folder moved); else a document whose file is gone and whose content is this file's (the
folder was renamed). A document is taken over only by a file ingested for the same groups (or
for none in particular: it keeps its own), so moving never changes who may read what, and an
upload cannot adopt a document its uploader may not read. Everything else gets a fresh id: the
key's, or the key's with a counter when another living document holds that one (two roots with
the same name).
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from rag.runtime.files import is_inside

if TYPE_CHECKING:
    from rag.store import DocumentRecord


def document_key(path: Path, root: Path | None) -> str:
    """The key of a file: relative to its root, the root's name first, or its name alone.

    Args:
        path: The file as found under ``root`` (not resolved: a link keeps its own name).
        root: The folder the user named, or None for a file named on its own.

    """
    if root is None:
        return path.name
    return PurePosixPath(root.name, path.relative_to(root).as_posix()).as_posix()


def document_id(collection: str, key: str) -> str:
    """Stable id of the document with ``key`` in ``collection``."""
    return hashlib.sha256(f"{collection}\x00{key}".encode()).hexdigest()[:16]


def chunk_id(doc_id: str, page: int | None, text: str) -> str:
    """Content id of a chunk within its document."""
    key = f"{doc_id}\x00{page}\x00{text}".encode()
    return hashlib.sha256(key).hexdigest()[:32]


class Catalog:
    """The documents a collection holds, matched against the files one ingest run finds.

    Each stored document is matched to at most one found file per run, and each new id is
    handed out once, so two files can never be given the same document.

    Args:
        collection: The collection.
        documents: Everything it holds, whoever may read it.

    """

    def __init__(self, collection: str, documents: Iterable[DocumentRecord]) -> None:
        self.collection = collection
        self._by_id = {d.id: d for d in documents}
        self._by_path = {d.source_path: d for d in self._by_id.values()}
        self._by_content: dict[str, list[DocumentRecord]] = {}
        for document in sorted(self._by_id.values(), key=lambda d: d.source_path):
            self._by_content.setdefault(document.content_sha256, []).append(document)
        self._taken: set[str] = set()

    def match(
        self, source: Path, key: str, fingerprints: Sequence[str], groups: tuple[str, ...] | None
    ) -> tuple[str, DocumentRecord | None]:
        """The id a found file is stored under, and the stored document it replaces (if any).

        Args:
            source: The path the document will be recorded at.
            key: Its :func:`document_key`.
            fingerprints: Content hashes that count as the same content.
            groups: The groups it is asked for (a flag or a rule); None when nothing asks, and
                a moved file then takes its document over with the groups it has.

        """
        same_path = self._by_path.get(str(source))
        if same_path is not None and same_path.id not in self._taken:
            return self._take(same_path)
        for attempt in itertools.count():
            doc_id = document_id(self.collection, key if not attempt else f"{key}\x00{attempt}")
            if doc_id in self._taken:
                continue
            holder = self._by_id.get(doc_id)
            if holder is None:
                moved = self._moved_here(fingerprints, groups)
                if moved is not None:
                    return self._take(moved)
                self._taken.add(doc_id)
                return doc_id, None
            if self._movable(holder, groups):
                return self._take(holder)
        raise AssertionError  # unreachable: the counter always finds a free id

    def gone_under(self, roots: Iterable[Path], present: set[str]) -> list[DocumentRecord]:
        """Documents recorded under ``roots`` that no file of this run is or replaced."""
        folders = list(roots)
        return [
            d
            for d in self._by_id.values()
            if d.id not in self._taken
            and d.source_path not in present
            and any(is_inside(d.source_path, folder) for folder in folders)
        ]

    def _take(self, document: DocumentRecord) -> tuple[str, DocumentRecord]:
        self._taken.add(document.id)
        return document.id, document

    def _movable(self, document: DocumentRecord, groups: tuple[str, ...] | None) -> bool:
        """Whether a file may take ``document`` over: its own file is gone, same readers."""
        return (
            document.id not in self._taken
            and (groups is None or document.groups == groups)
            and not Path(document.source_path).exists()
        )

    def _moved_here(
        self, fingerprints: Sequence[str], groups: tuple[str, ...] | None
    ) -> DocumentRecord | None:
        """A document with this content whose file is gone: the same file, moved."""
        same = (d for digest in fingerprints for d in self._by_content.get(digest, ()))
        return next((d for d in same if self._movable(d, groups)), None)

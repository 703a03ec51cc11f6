"""The store's reads: collections, documents, chunks and vectors, filtered by access in SQL.

Every read runs under the connection's lock (one connection serves every thread of a process)
and returns plain records (:mod:`rag.store.records`), never rows, so nothing outside the store
depends on the table layout. Access filtering is a SQL condition on the document's groups
(:func:`readable`), so a hidden row is never read into Python, let alone returned.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from rag.access import OPERATOR, Access
from rag.errors import StoreError
from rag.store.full_disk import no_space, out_of_space
from rag.store.records import (
    NO_COMMIT,
    CollectionInfo,
    CommitHead,
    CommitRecord,
    DocumentRecord,
    PageLayout,
    ReadableVersion,
    StoredChunk,
    searchable_text,
)
from rag.text.language import Language

_CHUNK_COLUMNS = (
    "c.id, c.vector_id, c.document_id, c.collection, d.source_path, c.ordinal, c.page, c.kind, "
    "c.text, c.heading, c.tokens, c.image_sha256, c.language, d.relative_path"
)


class Queries:
    """Read-only queries over the store's SQLite connection.

    Args:
        path: The SQLite file, for messages.
        conn: The connection (autocommit; shared by the process's threads).
        lock: Serializes use of ``conn``.

    """

    def __init__(self, path: Path, conn: sqlite3.Connection, lock: threading.RLock) -> None:
        self.path = path
        self._conn = conn
        self._lock = lock

    @contextmanager
    def _locked(self) -> Iterator[sqlite3.Connection]:
        """The connection, under the lock; a damaged file becomes one :class:`StoreError`."""
        with self._lock:
            try:
                yield self._conn
            except sqlite3.DatabaseError as error:
                user_error = unusable(self.path, error)
                if user_error is None:
                    raise
                raise user_error from None

    # --- collections -------------------------------------------------------------------------

    def collections(
        self, access: Access = OPERATOR, name: str | None = None
    ) -> list[CollectionInfo]:
        """Collections (all, or the one named) with the counts of what ``access`` may read.

        Counts are summed over documents, which keep their own chunk and image counts, so this
        stays fast with millions of chunks.
        """
        condition, groups = ("1", ()) if access.everything else readable(access)
        where, params = ("WHERE c.name = ?", (name,)) if name is not None else ("", ())
        with self._locked():
            rows = self._conn.execute(
                f"""
                SELECT c.*, COUNT(d.id) AS documents,
                    COALESCE(SUM(d.chunk_count), 0) AS chunks,
                    COALESCE(SUM(d.image_count), 0) AS images
                FROM collections c
                LEFT JOIN documents d ON d.collection = c.name AND {condition}
                {where} GROUP BY c.name ORDER BY c.name
                """,
                (*groups, *params),
            ).fetchall()
        return [collection_record(row) for row in rows]

    def collection(self, name: str) -> CollectionInfo | None:
        """One collection, or None when it does not exist."""
        return next(iter(self.collections(name=name)), None)

    def dimension(self, name: str) -> int | None:
        """A collection's vector size, or None when it does not exist (no row counting)."""
        with self._locked():
            row = self._conn.execute(
                "SELECT dimension FROM collections WHERE name = ?", (name,)
            ).fetchone()
        return int(row[0]) if row else None

    def head(self, collection: str) -> CommitHead:
        """The newest commit that touched ``collection``: its number and token."""
        with self._locked() as conn:
            return commit_head(conn, collection)

    def commit_token(self, seq: int) -> str | None:
        """The token of commit ``seq``; None when this database has no such commit."""
        with self._locked() as conn:
            return commit_token(conn, seq)

    def commits(self, limit: int) -> list[CommitRecord]:
        """The newest ``limit`` commits of every collection, newest first."""
        with self._locked():
            rows = self._conn.execute(
                "SELECT seq, collection, started_at, finished_at, added, removed FROM commits "
                "ORDER BY seq DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [CommitRecord(**dict(row)) for row in rows]

    # --- documents ---------------------------------------------------------------------------

    def documents(self, collection: str, access: Access = OPERATOR) -> list[DocumentRecord]:
        """The documents of a collection that ``access`` may read, by source path."""
        if access.everything:
            return self._select_documents("d.collection = ?", (collection,))
        condition, groups = readable(access)
        return self._select_documents(f"d.collection = ? AND {condition}", (collection, *groups))

    def document(self, collection: str, document_id: str) -> DocumentRecord | None:
        """A document by id, or None."""
        found = self._select_documents("d.collection = ? AND d.id = ?", (collection, document_id))
        return found[0] if found else None

    def documents_by_path(self, collection: str, source_path: str) -> list[DocumentRecord]:
        """Documents whose source path is exactly ``source_path``."""
        return self._select_documents(
            "d.collection = ? AND d.source_path = ?", (collection, source_path)
        )

    def _select_documents(self, where: str, params: tuple[object, ...]) -> list[DocumentRecord]:
        with self._locked():
            rows = self._conn.execute(
                f"SELECT d.* FROM documents d WHERE {where} ORDER BY d.source_path", params
            ).fetchall()
        return [_document(row) for row in rows]

    # --- chunks and vectors ------------------------------------------------------------------

    def document_vectors(self, collection: str, document_id: str) -> dict[str, np.ndarray]:
        """Chunk id -> stored vector for one document (lets a changed file reuse embeddings)."""
        with self._locked():
            rows = self._conn.execute(
                "SELECT id, vector FROM chunks WHERE collection = ? AND document_id = ?",
                (collection, document_id),
            ).fetchall()
        return {row["id"]: np.frombuffer(row["vector"], dtype=np.float32) for row in rows}

    def document_chunks(self, collection: str, document_id: str) -> list[StoredChunk]:
        """The chunks of one document in reading order."""
        with self._locked():
            rows = self._conn.execute(
                f"""
                SELECT {_CHUNK_COLUMNS} FROM chunks c
                JOIN documents d ON d.collection = c.collection AND d.id = c.document_id
                WHERE c.collection = ? AND c.document_id = ? ORDER BY c.ordinal
                """,
                (collection, document_id),
            ).fetchall()
        return [_chunk(row) for row in rows]

    def chunk_vectors(self, collection: str, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Chunk id -> stored vector, for the ids that exist."""
        if not chunk_ids:
            return {}
        marks = ",".join("?" * len(chunk_ids))
        with self._locked():
            rows = self._conn.execute(
                f"SELECT id, vector FROM chunks WHERE collection = ? AND id IN ({marks})",
                (collection, *chunk_ids),
            ).fetchall()
        return {row["id"]: np.frombuffer(row["vector"], dtype=np.float32) for row in rows}

    def chunk(self, collection: str, chunk_id: str) -> StoredChunk | None:
        """One chunk by id, or None."""
        with self._locked():
            row = self._conn.execute(
                f"""
                SELECT {_CHUNK_COLUMNS} FROM chunks c
                JOIN documents d ON d.collection = c.collection AND d.id = c.document_id
                WHERE c.collection = ? AND c.id = ?
                """,
                (collection, chunk_id),
            ).fetchone()
        return None if row is None else _chunk(row)

    def page_layouts(
        self, collection: str, document_id: str, page: int | None = None
    ) -> list[PageLayout]:
        """The word boxes of a document's pages (one page's, when ``page`` is given)."""
        with self._locked():
            rows = self._conn.execute(
                "SELECT page, words FROM page_layouts WHERE collection = ? AND document_id = ? "
                "AND (? IS NULL OR page = ?) ORDER BY page",
                (collection, document_id, page, page),
            ).fetchall()
        return [PageLayout.from_json(int(row[0]), row[1]) for row in rows]

    def vector_ids(self, collection: str) -> np.ndarray:
        """All vector ids of a collection, as int64."""
        with self._locked():
            rows = self._conn.execute(
                "SELECT vector_id FROM chunks WHERE collection = ?", (collection,)
            ).fetchall()
        return np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))

    def iter_vectors(
        self, collection: str, vector_ids: np.ndarray | None, dimension: int, batch: int = 8192
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(ids, matrix)`` batches; all of the collection when ``vector_ids`` is None."""
        if vector_ids is None:
            # Hold the lock for the whole scan: the cursor shares the connection.
            with self._locked():
                cursor = self._conn.execute(
                    "SELECT vector_id, vector FROM chunks WHERE collection = ? ORDER BY vector_id",
                    (collection,),
                )
                while rows := cursor.fetchmany(batch):
                    yield _unpack(rows, dimension)
            return
        for start in range(0, len(vector_ids), batch):
            part = [int(i) for i in vector_ids[start : start + batch]]
            marks = ",".join("?" * len(part))
            with self._locked():
                rows = self._conn.execute(
                    f"SELECT vector_id, vector FROM chunks WHERE vector_id IN ({marks})", part
                ).fetchall()
            yield _unpack(rows, dimension)

    def chunk_texts(self, vector_ids: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """``(ids, searchable texts)`` of the given chunks (ids that no longer exist are left out).

        A chunk's searchable text is its heading path's line, then its text
        (:func:`rag.store.records.searchable_text`).
        """
        part = [int(i) for i in vector_ids]
        marks = ",".join("?" * len(part))
        with self._locked():
            rows = self._conn.execute(
                f"SELECT vector_id, heading, text FROM chunks WHERE vector_id IN ({marks}) "
                "ORDER BY vector_id",
                part,
            ).fetchall()
        ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
        return ids, [searchable_text(row[1], row[2]) for row in rows]

    def chunks_by_vector_ids(self, vector_ids: Sequence[int]) -> dict[int, StoredChunk]:
        """Vector id -> chunk (with its document's path) for the ids that still exist."""
        if not vector_ids:
            return {}
        marks = ",".join("?" * len(vector_ids))
        with self._locked():
            rows = self._conn.execute(
                f"""
                SELECT {_CHUNK_COLUMNS} FROM chunks c
                JOIN documents d ON d.collection = c.collection AND d.id = c.document_id
                WHERE c.vector_id IN ({marks})
                """,
                [int(i) for i in vector_ids],
            ).fetchall()
        return {int(row["vector_id"]): _chunk(row) for row in rows}

    def chunk_languages(self, vector_ids: Sequence[int]) -> dict[int, Language]:
        """Vector id -> the chunk's language, for the ids that still exist."""
        if not vector_ids:
            return {}
        marks = ",".join("?" * len(vector_ids))
        with self._locked():
            rows = self._conn.execute(
                f"SELECT vector_id, language FROM chunks WHERE vector_id IN ({marks})",
                [int(i) for i in vector_ids],
            ).fetchall()
        return {int(row[0]): row[1] for row in rows}

    def image_hashes(self) -> set[str]:
        """Every stored image some chunk (of any collection) refers to."""
        with self._locked():
            rows = self._conn.execute(
                "SELECT DISTINCT image_sha256 FROM chunks WHERE image_sha256 IS NOT NULL"
            ).fetchall()
        return {row[0] for row in rows}

    # --- access control ----------------------------------------------------------------------

    def readable_version(self, collection: str, access: Access) -> ReadableVersion:
        """The version of ``collection`` that ``access`` sees (:class:`ReadableVersion`)."""
        condition, groups = ("1", ()) if access.everything else readable(access)
        with self._locked() as conn:
            count, newest = conn.execute(
                "SELECT COUNT(*), COALESCE(MAX(d.seq), 0) FROM documents d "
                f"WHERE d.collection = ? AND {condition}",
                (collection, *groups),
            ).fetchone()
            token = commit_token(conn, int(newest)) or ""
        return ReadableVersion(int(count), CommitHead(int(newest), token))

    def readable_vector_ids(self, collection: str, access: Access) -> np.ndarray | None:
        """Vector ids of the chunks ``access`` may read; None when that is all of them."""
        if access.everything:
            return None
        condition, groups = readable(access)
        with self._locked():
            hidden = self._conn.execute(
                f"SELECT COUNT(*) FROM documents d WHERE d.collection = ? AND NOT {condition}",
                (collection, *groups),
            ).fetchone()[0]
            if not hidden:
                return None
            rows = self._conn.execute(
                f"""
                SELECT c.vector_id FROM chunks c
                JOIN documents d ON d.collection = c.collection AND d.id = c.document_id
                WHERE c.collection = ? AND {condition}
                """,
                (collection, *groups),
            ).fetchall()
        return np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))


# SQLite's result codes for a file that is not (or no longer) a sound database, and for one
# that cannot be opened at all.
_DAMAGED = frozenset({"SQLITE_CORRUPT", "SQLITE_NOTADB"})
_CANNOT_OPEN = frozenset({"SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_READONLY"})


def commit_head(conn: sqlite3.Connection, collection: str) -> CommitHead:
    """The newest commit that touched ``collection`` (:data:`NO_COMMIT` before the first)."""
    row = conn.execute(
        "SELECT c.last_seq, COALESCE(m.token, '') FROM collections c "
        "LEFT JOIN commits m ON m.seq = c.last_seq WHERE c.name = ?",
        (collection,),
    ).fetchone()
    return CommitHead(int(row[0]), str(row[1])) if row else NO_COMMIT


def commit_token(conn: sqlite3.Connection, seq: int) -> str | None:
    """The token of commit ``seq``, or None when this database has no such commit."""
    row = conn.execute("SELECT token FROM commits WHERE seq = ?", (seq,)).fetchone()
    return str(row[0]) if row else None


def unusable(path: Path, error: sqlite3.DatabaseError) -> StoreError | None:
    """The user-facing error for ``error`` on the store file ``path``, or None for a bug.

    Only a damaged or unopenable file is the user's to fix; anything else (a constraint, a
    query mistake) stays the ``sqlite3`` error it is.
    """
    name = getattr(error, "sqlite_errorname", "")

    def among(codes: frozenset[str]) -> bool:  # extended codes add a suffix: SQLITE_CANTOPEN_ISDIR
        return any(name == code or name.startswith(code + "_") for code in codes)

    if among(_DAMAGED):
        return StoreError(
            f"{path}: the store's database is damaged ({error}); restore it from a backup, or "
            "move it aside and ingest the documents again into a new store"
        )
    if out_of_space(error, path.parent):
        return no_space(path.parent)
    if among(_CANNOT_OPEN):
        return StoreError(
            f"{path}: cannot open the store's database ({error}); check data_dir and that this "
            "user may read and write it"
        )
    return None


def readable(access: Access) -> tuple[str, tuple[str, ...]]:
    """SQL condition on documents ``d`` (and its parameters): unrestricted or a shared group."""
    groups = tuple(sorted(access.groups))
    marks = ",".join("?" * len(groups))
    condition = (
        f"(d.groups = '[]' OR EXISTS (SELECT 1 FROM json_each(d.groups) WHERE value IN ({marks})))"
    )
    return condition, groups


def _unpack(rows: Sequence[sqlite3.Row], dimension: int) -> tuple[np.ndarray, np.ndarray]:
    ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
    matrix = np.frombuffer(b"".join(row[1] for row in rows), dtype=np.float32)
    return ids, matrix.reshape(len(rows), dimension)


def collection_record(row: Mapping[str, Any]) -> CollectionInfo:
    """A collection row with its counts (either backend's: the columns are named alike)."""
    return CollectionInfo(
        name=row["name"],
        embedding_model=row["embedding_model"],
        dimension=int(row["dimension"]),
        created_at=float(row["created_at"]),
        last_seq=int(row["last_seq"]),
        documents=int(row["documents"]),
        chunks=int(row["chunks"]),
        images=int(row["images"]),
    )


def document_record(
    row: Mapping[str, Any] | sqlite3.Row, groups: Sequence[str], metadata: dict[str, Any]
) -> DocumentRecord:
    """A document row of either backend (the columns are named alike).

    ``groups`` and ``metadata`` come decoded by the caller: JSON text in SQLite, native types
    in PostgreSQL.
    """
    return DocumentRecord(
        id=row["id"],
        collection=row["collection"],
        source_path=row["source_path"],
        content_sha256=row["content_sha256"],
        size=int(row["size"]),
        mtime=float(row["mtime"]),
        groups=tuple(groups),
        ingested_at=float(row["ingested_at"]),
        chunks=int(row["chunk_count"]),
        metadata=metadata,
        groups_origin=row["groups_origin"],
        groups_rule=row["groups_rule"],
        relative_path=row["relative_path"],
    )


def _document(row: sqlite3.Row) -> DocumentRecord:
    return document_record(row, json.loads(row["groups"]), json.loads(row["metadata"]))


def _chunk(row: sqlite3.Row) -> StoredChunk:
    return StoredChunk(
        id=row["id"],
        vector_id=int(row["vector_id"]),
        document_id=row["document_id"],
        collection=row["collection"],
        source_path=row["source_path"],
        ordinal=int(row["ordinal"]),
        page=row["page"],
        kind=row["kind"],
        text=row["text"],
        tokens=int(row["tokens"]),
        image_sha256=row["image_sha256"],
        language=row["language"],
        heading=row["heading"],
        relative_path=row["relative_path"],
    )

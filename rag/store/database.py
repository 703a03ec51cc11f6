"""SQLite: the store's source of truth.

Documents, chunks, their float32 vectors and a commit sequence live in one SQLite file in WAL
mode. Every write is one transaction that bumps the sequence, so a reader (or a process killed
with -9 half-way through an ingest) only ever sees whole commits. Search indexes are views
rebuilt from these rows; losing them loses nothing.

Chunks get an ``AUTOINCREMENT`` integer ``vector_id`` that FAISS uses as its id. AUTOINCREMENT
(rather than plain rowid) guarantees an id is never reused after a delete, so a stale index
can never point at a different chunk than the one it was built from.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.access import OPERATOR, Access
from rag.store.records import (
    CollectionInfo,
    CommitRecord,
    CommitResult,
    DocumentRecord,
    DocumentUpdate,
    StoredChunk,
)

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS collections (
    name            TEXT PRIMARY KEY,
    embedding_model TEXT NOT NULL,
    dimension       INTEGER NOT NULL,
    created_at      REAL NOT NULL,
    last_seq        INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS commits (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    collection  TEXT NOT NULL,
    started_at  REAL NOT NULL,
    finished_at REAL NOT NULL,
    added       INTEGER NOT NULL,
    removed     INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS documents (
    collection     TEXT NOT NULL REFERENCES collections(name) ON DELETE CASCADE,
    id             TEXT NOT NULL,
    source_path    TEXT NOT NULL,
    content_sha256 TEXT NOT NULL,
    size           INTEGER NOT NULL,
    mtime          REAL NOT NULL,
    groups         TEXT NOT NULL DEFAULT '[]',
    ingested_at    REAL NOT NULL,
    seq            INTEGER NOT NULL,
    metadata       TEXT NOT NULL DEFAULT '{}',
    chunk_count    INTEGER NOT NULL DEFAULT 0,
    image_count    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (collection, id)
);
CREATE INDEX IF NOT EXISTS documents_by_path ON documents(collection, source_path);
CREATE TABLE IF NOT EXISTS chunks (
    vector_id    INTEGER PRIMARY KEY AUTOINCREMENT,
    collection   TEXT NOT NULL,
    id           TEXT NOT NULL,
    document_id  TEXT NOT NULL,
    kind         TEXT NOT NULL DEFAULT 'text',
    ordinal      INTEGER NOT NULL,
    page         INTEGER,
    text         TEXT NOT NULL,
    image_sha256 TEXT,
    tokens       INTEGER NOT NULL,
    vector       BLOB NOT NULL,
    seq          INTEGER NOT NULL,
    UNIQUE (collection, id),
    FOREIGN KEY (collection, document_id)
        REFERENCES documents(collection, id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS chunks_by_document ON chunks(collection, document_id);
CREATE INDEX IF NOT EXISTS chunks_by_image ON chunks(image_sha256) WHERE image_sha256 IS NOT NULL;
"""

_CHUNK_COLUMNS = (
    "c.id, c.vector_id, c.document_id, c.collection, d.source_path, c.ordinal, c.page, c.kind, "
    "c.text, c.tokens, c.image_sha256"
)


class Database:
    """Thread-safe access to the store's SQLite file.

    Args:
        path: The SQLite file; created with its schema when missing.

    """

    def __init__(self, path: Path) -> None:
        self.path = path
        # One connection shared by the threads of one process (Streamlit serves each session
        # from its own thread); the lock serializes use, SQLite serializes processes.
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.execute("PRAGMA busy_timeout=30000")
        with self._lock:  # executescript manages its own transaction
            self._conn.executescript(f"BEGIN IMMEDIATE;\n{SCHEMA}\nCOMMIT;")
        with self._transaction():
            self._conn.execute(
                "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )
            columns = {row[1] for row in self._conn.execute("PRAGMA table_info(documents)")}
            if "metadata" not in columns:  # a store made before documents kept metadata
                self._conn.execute(
                    "ALTER TABLE documents ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}'"
                )
            if "chunk_count" not in columns:  # ... or their counts
                self._add_counts()

    def _add_counts(self) -> None:
        """Add and fill the per-document counts (once, when opening an older store)."""
        for column in ("chunk_count", "image_count"):
            self._conn.execute(
                f"ALTER TABLE documents ADD COLUMN {column} INTEGER NOT NULL DEFAULT 0"
            )
        self._conn.execute(
            """
            UPDATE documents SET
                chunk_count = (SELECT COUNT(*) FROM chunks k
                               WHERE k.collection = documents.collection
                                 AND k.document_id = documents.id),
                image_count = (SELECT COUNT(*) FROM chunks k
                               WHERE k.collection = documents.collection
                                 AND k.document_id = documents.id AND k.kind = 'image')
            """
        )

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    def _transaction(self) -> _Transaction:
        return _Transaction(self._conn, self._lock)

    # --- collections -------------------------------------------------------------------------

    def collections(
        self, access: Access = OPERATOR, name: str | None = None
    ) -> list[CollectionInfo]:
        """Collections (all, or the one named) with the counts of what ``access`` may read.

        Counts are summed over documents, which keep their own chunk and image counts, so this
        stays fast with millions of chunks.
        """
        readable, groups = ("1", ()) if access.everything else _readable(access)
        where, params = ("WHERE c.name = ?", (name,)) if name is not None else ("", ())
        with self._lock:
            rows = self._conn.execute(
                f"""
                SELECT c.*, COUNT(d.id) AS documents,
                    COALESCE(SUM(d.chunk_count), 0) AS chunks,
                    COALESCE(SUM(d.image_count), 0) AS images
                FROM collections c
                LEFT JOIN documents d ON d.collection = c.name AND {readable}
                {where} GROUP BY c.name ORDER BY c.name
                """,
                (*groups, *params),
            ).fetchall()
        return [_collection(row) for row in rows]

    def collection(self, name: str) -> CollectionInfo | None:
        """One collection, or None when it does not exist."""
        return next(iter(self.collections(name=name)), None)

    def dimension(self, name: str) -> int | None:
        """A collection's vector size, or None when it does not exist (no row counting)."""
        with self._lock:
            row = self._conn.execute(
                "SELECT dimension FROM collections WHERE name = ?", (name,)
            ).fetchone()
        return int(row[0]) if row else None

    def last_seq(self, collection: str) -> int:
        """The sequence number of the newest commit that touched ``collection``."""
        with self._lock:
            row = self._conn.execute(
                "SELECT last_seq FROM collections WHERE name = ?", (collection,)
            ).fetchone()
        return int(row["last_seq"]) if row else 0

    def create_collection(self, name: str, embedding_model: str, dimension: int) -> None:
        """Create ``name`` unless it exists (the caller checks the embedder matches)."""
        with self._transaction():
            self._conn.execute(
                "INSERT OR IGNORE INTO collections(name, embedding_model, dimension, created_at) "
                "VALUES (?, ?, ?, ?)",
                (name, embedding_model, dimension, time.time()),
            )

    def commits(self, limit: int) -> list[CommitRecord]:
        """The newest ``limit`` commits of every collection, newest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT * FROM commits ORDER BY seq DESC LIMIT ?", (limit,)
            ).fetchall()
        return [CommitRecord(**dict(row)) for row in rows]

    # --- documents ---------------------------------------------------------------------------

    def documents(self, collection: str, access: Access = OPERATOR) -> list[DocumentRecord]:
        """The documents of a collection that ``access`` may read, by source path."""
        if access.everything:
            return self._select_documents("d.collection = ?", (collection,))
        readable, groups = _readable(access)
        return self._select_documents(f"d.collection = ? AND {readable}", (collection, *groups))

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
        with self._lock:
            rows = self._conn.execute(
                f"""
                SELECT d.* FROM documents d WHERE {where} ORDER BY d.source_path
                """,
                params,
            ).fetchall()
        return [_document(row) for row in rows]

    # --- chunks and vectors ------------------------------------------------------------------

    def document_vectors(self, collection: str, document_id: str) -> dict[str, np.ndarray]:
        """Chunk id -> stored vector for one document (lets a changed file reuse embeddings)."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, vector FROM chunks WHERE collection = ? AND document_id = ?",
                (collection, document_id),
            ).fetchall()
        return {row["id"]: np.frombuffer(row["vector"], dtype=np.float32) for row in rows}

    def vector_ids(self, collection: str) -> np.ndarray:
        """All vector ids of a collection, as int64."""
        with self._lock:
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
            with self._lock:
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
            with self._lock:
                rows = self._conn.execute(
                    f"SELECT vector_id, vector FROM chunks WHERE vector_id IN ({marks})", part
                ).fetchall()
            yield _unpack(rows, dimension)

    def image_hashes(self) -> set[str]:
        """Every stored image some chunk (of any collection) refers to."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT DISTINCT image_sha256 FROM chunks WHERE image_sha256 IS NOT NULL"
            ).fetchall()
        return {row[0] for row in rows}

    def chunk_texts(self, vector_ids: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """``(ids, texts)`` of the given chunks (ids that no longer exist are left out)."""
        part = [int(i) for i in vector_ids]
        marks = ",".join("?" * len(part))
        with self._lock:
            rows = self._conn.execute(
                f"SELECT vector_id, text FROM chunks WHERE vector_id IN ({marks}) "
                "ORDER BY vector_id",
                part,
            ).fetchall()
        ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
        return ids, [row[1] for row in rows]

    # --- access control ----------------------------------------------------------------------

    def readable_vector_ids(self, collection: str, access: Access) -> np.ndarray | None:
        """Vector ids of the chunks ``access`` may read; None when that is all of them."""
        if access.everything:
            return None
        readable, groups = _readable(access)
        with self._lock:
            hidden = self._conn.execute(
                f"SELECT COUNT(*) FROM documents d WHERE d.collection = ? AND NOT {readable}",
                (collection, *groups),
            ).fetchone()[0]
            if not hidden:
                return None
            rows = self._conn.execute(
                f"""
                SELECT c.vector_id FROM chunks c
                JOIN documents d ON d.collection = c.collection AND d.id = c.document_id
                WHERE c.collection = ? AND {readable}
                """,
                (collection, *groups),
            ).fetchall()
        return np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))

    def chunks_by_vector_ids(self, vector_ids: Sequence[int]) -> dict[int, StoredChunk]:
        """Vector id -> chunk (with its document's path) for the ids that still exist."""
        if not vector_ids:
            return {}
        marks = ",".join("?" * len(vector_ids))
        with self._lock:
            rows = self._conn.execute(
                f"""
                SELECT {_CHUNK_COLUMNS} FROM chunks c
                JOIN documents d ON d.collection = c.collection AND d.id = c.document_id
                WHERE c.vector_id IN ({marks})
                """,
                [int(i) for i in vector_ids],
            ).fetchall()
        return {int(row["vector_id"]): _chunk(row) for row in rows}

    def document_chunks(self, collection: str, document_id: str) -> list[StoredChunk]:
        """The chunks of one document in reading order."""
        with self._lock:
            rows = self._conn.execute(
                f"""
                SELECT {_CHUNK_COLUMNS} FROM chunks c
                JOIN documents d ON d.collection = c.collection AND d.id = c.document_id
                WHERE c.collection = ? AND c.document_id = ? ORDER BY c.ordinal
                """,
                (collection, document_id),
            ).fetchall()
        return [_chunk(row) for row in rows]

    # --- the one write path ------------------------------------------------------------------

    def commit(
        self,
        collection: str,
        updates: Sequence[DocumentUpdate],
        removals: Sequence[str],
    ) -> CommitDelta:
        """Replace documents and remove others in one transaction.

        Returns:
            The commit summary plus the vector ids removed and added, so that an in-memory
            index can follow without re-reading the table.

        """
        started = time.time()
        added_vectors: list[np.ndarray] = []
        with self._transaction():
            previous_seq = self._conn.execute(
                "SELECT last_seq FROM collections WHERE name = ?", (collection,)
            ).fetchone()[0]
            cursor = self._conn.execute(
                "INSERT INTO commits(collection, started_at, finished_at, added, removed) "
                "VALUES (?, ?, ?, 0, 0)",
                (collection, started, started),
            )
            seq = int(cursor.lastrowid or 0)
            doomed = [u.document.id for u in updates] + list(removals)
            removed_ids = self._delete_chunks(collection, doomed)
            for document_id in removals:
                self._conn.execute(
                    "DELETE FROM documents WHERE collection = ? AND id = ?",
                    (collection, document_id),
                )
            newest_before = self._conn.execute(
                "SELECT COALESCE(MAX(vector_id), 0) FROM chunks"
            ).fetchone()[0]
            rows = []
            for update in updates:
                self._upsert_document(collection, update, seq)
                for chunk in update.chunks:
                    vector = np.ascontiguousarray(chunk.vector, dtype=np.float32)
                    added_vectors.append(vector)
                    rows.append(
                        (
                            collection,
                            chunk.id,
                            update.document.id,
                            chunk.kind,
                            chunk.ordinal,
                            chunk.page,
                            chunk.text,
                            chunk.image_sha256,
                            chunk.tokens,
                            vector.tobytes(),
                            seq,
                        )
                    )
            # One executemany for all chunks (bulk loads of 100k+ rows); AUTOINCREMENT ids grow
            # in insertion order inside this exclusive transaction, so reading back this
            # commit's ids in id order pairs them with ``added_vectors``.
            self._conn.executemany(
                """
                INSERT INTO chunks(collection, id, document_id, kind, ordinal, page, text,
                                   image_sha256, tokens, vector, seq)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                rows,
            )
            added_ids = [
                row[0]
                for row in self._conn.execute(
                    "SELECT vector_id FROM chunks WHERE vector_id > ? AND seq = ? "
                    "ORDER BY vector_id",
                    (newest_before, seq),
                )
            ]
            self._conn.execute(
                "UPDATE commits SET finished_at = ?, added = ?, removed = ? WHERE seq = ?",
                (time.time(), len(added_ids), len(removed_ids), seq),
            )
            self._conn.execute(
                "UPDATE collections SET last_seq = ? WHERE name = ?", (seq, collection)
            )
        result = CommitResult(
            seq=seq,
            chunks_added=len(added_ids),
            chunks_removed=len(removed_ids),
            documents_written=len(updates),
            documents_removed=len(removals),
        )
        return CommitDelta(
            result=result,
            previous_seq=int(previous_seq),
            removed_ids=removed_ids,
            added_ids=np.asarray(added_ids, dtype=np.int64),
            added_vectors=np.vstack(added_vectors) if added_vectors else np.empty((0, 0)),
        )

    def _delete_chunks(self, collection: str, document_ids: Sequence[str]) -> np.ndarray:
        removed: list[int] = []
        for document_id in document_ids:
            rows = self._conn.execute(
                "DELETE FROM chunks WHERE collection = ? AND document_id = ? RETURNING vector_id",
                (collection, document_id),
            ).fetchall()
            removed.extend(int(row[0]) for row in rows)
        return np.asarray(removed, dtype=np.int64)

    def _upsert_document(self, collection: str, update: DocumentUpdate, seq: int) -> None:
        document = update.document
        images = sum(1 for chunk in update.chunks if chunk.kind == "image")
        self._conn.execute(
            """
            INSERT INTO documents(collection, id, source_path, content_sha256, size, mtime, groups,
                                  ingested_at, seq, metadata, chunk_count, image_count)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(collection, id) DO UPDATE SET
                source_path = excluded.source_path, content_sha256 = excluded.content_sha256,
                size = excluded.size, mtime = excluded.mtime, groups = excluded.groups,
                ingested_at = excluded.ingested_at, seq = excluded.seq,
                metadata = excluded.metadata, chunk_count = excluded.chunk_count,
                image_count = excluded.image_count
            """,
            (
                collection,
                document.id,
                document.source_path,
                document.content_sha256,
                document.size,
                document.mtime,
                json.dumps(sorted(document.groups)),
                time.time(),
                seq,
                json.dumps(dict(document.metadata), ensure_ascii=False),
                len(update.chunks),
                images,
            ),
        )


@dataclass(frozen=True)
class CommitDelta:
    """A commit and the vector ids it removed and added."""

    result: CommitResult
    previous_seq: int
    removed_ids: np.ndarray
    added_ids: np.ndarray
    added_vectors: np.ndarray


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, or ``ROLLBACK`` on any exception, under the lock."""

    def __init__(self, conn: sqlite3.Connection, lock: threading.RLock) -> None:
        self._conn = conn
        self._lock = lock

    def __enter__(self) -> None:
        self._lock.acquire()
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._lock.release()
            raise

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            self._conn.execute("ROLLBACK" if exc_type else "COMMIT")
        finally:
            self._lock.release()


def _readable(access: Access) -> tuple[str, tuple[str, ...]]:
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


def _collection(row: sqlite3.Row) -> CollectionInfo:
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


def _document(row: sqlite3.Row) -> DocumentRecord:
    return DocumentRecord(
        id=row["id"],
        collection=row["collection"],
        source_path=row["source_path"],
        content_sha256=row["content_sha256"],
        size=int(row["size"]),
        mtime=float(row["mtime"]),
        groups=tuple(json.loads(row["groups"])),
        ingested_at=float(row["ingested_at"]),
        chunks=int(row["chunk_count"]),
        metadata=json.loads(row["metadata"]),
    )


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
    )

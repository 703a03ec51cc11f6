"""The one write path: a commit replaces some documents and removes others, all or nothing.

A commit runs inside one ``BEGIN IMMEDIATE`` transaction (the caller's) and bumps the commit
sequence, so a reader, or a process killed with -9 half-way through an ingest, only ever sees
whole commits. It reports the vector ids it removed and added with the added vectors, so a view
loaded in this process can follow without re-reading the table.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rag.store.queries import commit_head
from rag.store.records import CommitHead, CommitResult, DocumentUpdate
from rag.text.language import detect_language


@dataclass(frozen=True)
class CommitDelta:
    """A commit and the vector ids it removed and added."""

    result: CommitResult
    previous: CommitHead
    head: CommitHead
    removed_ids: np.ndarray
    added_ids: np.ndarray
    added_vectors: np.ndarray


def create_collection(
    conn: sqlite3.Connection, name: str, embedding_model: str, dimension: int
) -> None:
    """Create ``name`` unless it exists (the caller checks the embedder matches)."""
    conn.execute(
        "INSERT OR IGNORE INTO collections(name, embedding_model, dimension, created_at) "
        "VALUES (?, ?, ?, ?)",
        (name, embedding_model, dimension, time.time()),
    )


def write_commit(
    conn: sqlite3.Connection,
    collection: str,
    updates: Sequence[DocumentUpdate],
    removals: Sequence[str],
) -> CommitDelta:
    """Replace ``updates``' documents and delete ``removals`` (inside the caller's transaction).

    Returns:
        The commit summary plus the vector ids removed and added, and the added vectors.

    """
    started = time.time()
    previous = commit_head(conn, collection)
    token = secrets.token_hex(16)
    cursor = conn.execute(
        "INSERT INTO commits(collection, started_at, finished_at, added, removed, token) "
        "VALUES (?, ?, ?, 0, 0, ?)",
        (collection, started, started, token),
    )
    seq = int(cursor.lastrowid or 0)
    removed_ids = _delete_chunks(conn, collection, [*(u.document.id for u in updates), *removals])
    conn.executemany(
        "DELETE FROM page_layouts WHERE collection = ? AND document_id = ?",
        [(collection, u.document.id) for u in updates],
    )
    conn.executemany(
        "DELETE FROM documents WHERE collection = ? AND id = ?",
        [(collection, document_id) for document_id in removals],
    )
    newest_before = conn.execute("SELECT COALESCE(MAX(vector_id), 0) FROM chunks").fetchone()[0]
    rows, vectors = [], []
    for update in updates:
        _upsert_document(conn, collection, update, seq)
        conn.executemany(
            "INSERT INTO page_layouts(collection, document_id, page, words) VALUES (?, ?, ?, ?)",
            [(collection, update.document.id, p.page, p.to_json()) for p in update.layouts],
        )
        for chunk in update.chunks:
            vector = np.ascontiguousarray(chunk.vector, dtype=np.float32)
            vectors.append(vector)
            rows.append(
                (collection, chunk.id, update.document.id, chunk.kind, chunk.ordinal, chunk.page,
                 chunk.text, chunk.heading, chunk.image_sha256, chunk.tokens, vector.tobytes(), seq,
                 detect_language(chunk.searchable_text))
            )  # fmt: skip
    # One executemany for all chunks (bulk loads of 100k+ rows); AUTOINCREMENT ids grow in
    # insertion order inside this exclusive transaction, so reading back this commit's ids in
    # id order pairs them with ``vectors``.
    conn.executemany(
        """
        INSERT INTO chunks(collection, id, document_id, kind, ordinal, page, text, heading,
                           image_sha256, tokens, vector, seq, language)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """,
        rows,
    )
    added_ids = np.fromiter(
        (
            row[0]
            for row in conn.execute(
                "SELECT vector_id FROM chunks WHERE vector_id > ? AND seq = ? ORDER BY vector_id",
                (newest_before, seq),
            )
        ),
        dtype=np.int64,
    )
    conn.execute(
        "UPDATE commits SET finished_at = ?, added = ?, removed = ? WHERE seq = ?",
        (time.time(), len(added_ids), len(removed_ids), seq),
    )
    conn.execute("UPDATE collections SET last_seq = ? WHERE name = ?", (seq, collection))
    result = CommitResult(
        seq=seq,
        chunks_added=len(added_ids),
        chunks_removed=len(removed_ids),
        documents_removed=len(removals),
    )
    return CommitDelta(
        result=result,
        previous=previous,
        head=CommitHead(seq, token),
        removed_ids=removed_ids,
        added_ids=added_ids,
        added_vectors=np.vstack(vectors) if vectors else np.empty((0, 0)),
    )


def _delete_chunks(
    conn: sqlite3.Connection, collection: str, document_ids: Sequence[str]
) -> np.ndarray:
    removed: list[int] = []
    for document_id in document_ids:
        rows = conn.execute(
            "DELETE FROM chunks WHERE collection = ? AND document_id = ? RETURNING vector_id",
            (collection, document_id),
        ).fetchall()
        removed.extend(int(row[0]) for row in rows)
    return np.asarray(removed, dtype=np.int64)


def _upsert_document(
    conn: sqlite3.Connection, collection: str, update: DocumentUpdate, seq: int
) -> None:
    document = update.document
    images = sum(1 for chunk in update.chunks if chunk.kind == "image")
    conn.execute(
        """
        INSERT INTO documents(collection, id, source_path, content_sha256, size, mtime, groups,
                              ingested_at, seq, metadata, chunk_count, image_count,
                              groups_origin, groups_rule, relative_path)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT(collection, id) DO UPDATE SET
            source_path = excluded.source_path, content_sha256 = excluded.content_sha256,
            size = excluded.size, mtime = excluded.mtime, groups = excluded.groups,
            ingested_at = excluded.ingested_at, seq = excluded.seq,
            metadata = excluded.metadata, chunk_count = excluded.chunk_count,
            image_count = excluded.image_count, groups_origin = excluded.groups_origin,
            groups_rule = excluded.groups_rule, relative_path = excluded.relative_path
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
            document.groups_origin,
            document.groups_rule,
            document.shown_path,
        ),
    )

"""The PostgreSQL store's reads: collections, documents, chunks and vectors, as plain records.

Each function takes a connection and returns the same records the embedded store returns
(:mod:`rag.store.records`), so nothing outside the store depends on either schema. Access
filtering of listings is a SQL condition on the documents' groups
(:func:`rag.store.postgres.readable.document_filter`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import psycopg
from psycopg.rows import dict_row

from rag.access import OPERATOR, Access
from rag.store.postgres.readable import document_filter
from rag.store.queries import collection_record, document_record
from rag.store.records import (
    CollectionInfo,
    CommitHead,
    CommitRecord,
    DocumentRecord,
    PageLayout,
    ReadableVersion,
    StoredChunk,
)

_CHUNK_COLUMNS = """
    c.id, c.vector_id, c.document_id, col.name AS collection, d.source_path, c.ordinal, c.page,
    c.kind, c.text, c.heading, c.tokens, c.image_sha256, c.language, d.relative_path
"""
_CHUNK_JOINS = """
    JOIN documents d ON d.collection_id = c.collection_id AND d.id = c.document_id
    JOIN collections col ON col.id = c.collection_id
"""
_DOCUMENT_COLUMNS = """
    d.id, col.name AS collection, d.source_path, d.content_sha256, d.size, d.mtime, d.groups,
    d.ingested_at, d.chunk_count, d.metadata, d.groups_origin, d.groups_rule, d.relative_path
"""


def collections(
    conn: psycopg.Connection, access: Access = OPERATOR, name: str | None = None
) -> list[CollectionInfo]:
    """Collections (all, or the one named) with the counts of what ``access`` may read."""
    condition, params = document_filter(access)
    rows = conn.cursor(row_factory=dict_row).execute(
        f"""
        SELECT c.id, c.name, c.embedding_model, c.dimension, c.created_at, c.last_seq,
               count(d.id) AS documents, COALESCE(sum(d.chunk_count), 0) AS chunks,
               COALESCE(sum(d.image_count), 0) AS images
        FROM collections c LEFT JOIN documents d ON d.collection_id = c.id AND {condition}
        WHERE %(name)s::text IS NULL OR c.name = %(name)s::text
        GROUP BY c.id ORDER BY c.name
        """,
        {**params, "name": name},
    )
    return [collection_record(row) for row in rows]


def collection_row(conn: psycopg.Connection, name: str) -> tuple[int, int] | None:
    """``(id, dimension)`` of a collection, without counting anything, or None."""
    row = conn.execute("SELECT id, dimension FROM collections WHERE name = %s", (name,)).fetchone()
    return (int(row[0]), int(row[1])) if row else None


def readable_version(conn: psycopg.Connection, collection: str, access: Access) -> ReadableVersion:
    """The version of a collection that ``access`` sees (commits carry no token here)."""
    condition, params = document_filter(access)
    row = conn.execute(
        f"""
        SELECT COUNT(*), COALESCE(MAX(d.seq), 0) FROM documents d
        JOIN collections col ON col.id = d.collection_id
        WHERE col.name = %(collection)s AND {condition}
        """,
        {**params, "collection": collection},
    ).fetchone()
    assert row is not None  # an aggregate always has its row
    return ReadableVersion(int(row[0]), CommitHead(int(row[1]), ""))


def commits(conn: psycopg.Connection, limit: int) -> list[CommitRecord]:
    """The newest ``limit`` commits of every collection, newest first."""
    rows = conn.cursor(row_factory=dict_row).execute(
        "SELECT seq, collection, started_at, finished_at, added, removed FROM commits "
        "ORDER BY seq DESC LIMIT %s",
        (limit,),
    )
    return [CommitRecord(**row) for row in rows]


def documents(
    conn: psycopg.Connection, collection: str, where: str, params: dict[str, Any]
) -> list[DocumentRecord]:
    """Documents of ``collection`` matching ``where`` (a condition on ``d``), by path."""
    rows = conn.cursor(row_factory=dict_row).execute(
        f"""
        SELECT {_DOCUMENT_COLUMNS} FROM documents d JOIN collections col ON col.id = d.collection_id
        WHERE col.name = %(collection)s AND {where} ORDER BY d.source_path, d.id
        """,
        {**params, "collection": collection},
    )
    return [document_record(row, row["groups"], row["metadata"]) for row in rows]


def readable_documents(
    conn: psycopg.Connection, collection: str, access: Access
) -> list[DocumentRecord]:
    """The documents of a collection that ``access`` may read, by source path."""
    condition, params = document_filter(access)
    return documents(conn, collection, condition, params)


def chunks(conn: psycopg.Connection, where: str, params: dict[str, Any]) -> list[StoredChunk]:
    """Chunks matching ``where`` (a condition on ``c``), in document reading order."""
    rows = conn.cursor(row_factory=dict_row).execute(
        f"SELECT {_CHUNK_COLUMNS} FROM chunks c {_CHUNK_JOINS} WHERE {where} "
        "ORDER BY c.document_id, c.ordinal",
        params,
    )
    return [StoredChunk(**row) for row in rows]


def chunks_by_vector_ids(
    conn: psycopg.Connection, vector_ids: Sequence[int]
) -> dict[int, StoredChunk]:
    """Vector id -> chunk for the ids that still exist."""
    if not vector_ids:
        return {}
    found = chunks(conn, "c.vector_id = ANY(%(ids)s)", {"ids": [int(i) for i in vector_ids]})
    return {chunk.vector_id: chunk for chunk in found}


def page_layouts(
    conn: psycopg.Connection, collection: str, document_id: str, page: int | None
) -> list[PageLayout]:
    """The word boxes of a document's pages (one page's, when ``page`` is given)."""
    rows = conn.execute(
        """
        SELECT p.page, p.words FROM page_layouts p JOIN collections col ON col.id = p.collection_id
        WHERE col.name = %(collection)s AND p.document_id = %(document)s
          AND (%(page)s::integer IS NULL OR p.page = %(page)s::integer)
        ORDER BY p.page
        """,
        {"collection": collection, "document": document_id, "page": page},
    )
    return [PageLayout.from_json(int(number), words) for number, words in rows]


def chunk_vectors(
    conn: psycopg.Connection, collection: str, chunk_ids: Sequence[str]
) -> dict[str, np.ndarray]:
    """Chunk id -> stored vector, for the ids that exist."""
    rows = conn.execute(
        "SELECT c.id, c.embedding FROM chunks c JOIN collections col ON col.id = c.collection_id "
        "WHERE col.name = %s AND c.id = ANY(%s)",
        (collection, list(chunk_ids)),
        binary=True,
    )
    return {str(chunk_id): vector for chunk_id, vector in rows}


def document_vectors(
    conn: psycopg.Connection, collection_id: int, document_id: str
) -> dict[str, np.ndarray]:
    """Chunk id -> stored vector for one document."""
    rows = conn.execute(
        "SELECT id, embedding FROM chunks WHERE collection_id = %s AND document_id = %s",
        (collection_id, document_id),
        binary=True,  # vectors straight into numpy (the binary loader)
    )
    return {str(chunk_id): vector for chunk_id, vector in rows}

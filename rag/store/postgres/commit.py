"""The write path in PostgreSQL: one commit replaces some documents and removes others, whole.

A commit is one transaction. It starts by locking its collection's row (``FOR UPDATE``), so
commits to one collection are applied one after another, in the order of their sequence
numbers, by any number of processes on any number of machines; commits to other collections
run in parallel. Readers are never blocked (MVCC) and see the commit entirely or not at all, the
moment it is committed: there are no views to catch up.

Within it: the old chunks of every replaced or removed document are deleted (their postings go
with them, by cascade), documents are upserted, new chunks and their postings are written with
``COPY`` (vector ids drawn from the sequence first, so the postings can name them), and the
access classes' counts (BM25's statistics) move by exactly what was deleted and added.

The expensive parts run before the transaction, so it holds its lock for as short as possible:
Kiwi analyses the new chunks, and their words are added to the shared vocabulary (``terms``)
in their own statement, sorted, so two writers adding the same new words never deadlock; a word
added by a commit that then fails is harmless (the vocabulary only names words).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg

from rag.store.records import CommitResult, DocumentUpdate
from rag.text.language import detect_language
from rag.text.morphemes import tokenize_many

_CHUNK_COLUMNS = (
    "vector_id, collection_id, id, document_id, class_id, kind, ordinal, page, text, heading, "
    "image_sha256, tokens, terms, embedding, seq, language"
)
_CHUNK_TYPES = [
    "bigint", "integer", "text", "text", "integer", "text", "integer", "integer", "text", "text",
    "text", "integer", "integer", "vector", "bigint", "text",
]  # fmt: skip
_POSTING_TYPES = ["integer", "integer", "bigint", "integer", "integer", "integer"]


@dataclass(frozen=True)
class _Analysed:
    """Each new chunk's keyword counts (term id -> count) and length, in update order."""

    counts: list[Counter[int]]
    lengths: list[int]


def analyse(conn: psycopg.Connection, updates: Sequence[DocumentUpdate]) -> _Analysed:
    """Tokenize the new chunks and make sure the vocabulary knows their words (own statement)."""
    texts = [chunk.searchable_text for update in updates for chunk in update.chunks]
    tokens = tokenize_many(texts)
    words = sorted({word for chunk_tokens in tokens for word in chunk_tokens})
    ids: dict[str, int] = {}
    if words:
        conn.execute(
            "INSERT INTO terms(term) SELECT unnest(%s::text[]) ORDER BY 1 ON CONFLICT DO NOTHING",
            (words,),
        )
        rows = conn.execute("SELECT term, id FROM terms WHERE term = ANY(%s)", (words,))
        ids = {str(term): int(term_id) for term, term_id in rows}
    return _Analysed(
        counts=[Counter(ids[word] for word in chunk_tokens) for chunk_tokens in tokens],
        lengths=[len(chunk_tokens) for chunk_tokens in tokens],
    )


def write_commit(
    conn: psycopg.Connection,
    collection: str,
    updates: Sequence[DocumentUpdate],
    removals: Sequence[str],
) -> CommitResult:
    """Replace ``updates``' documents and delete ``removals`` in one transaction."""
    analysed = analyse(conn, updates)
    with conn.transaction():
        started = time.time()
        row = conn.execute(
            "SELECT id FROM collections WHERE name = %s FOR UPDATE", (collection,)
        ).fetchone()
        assert row is not None  # the store checked the collection exists
        collection_id = int(row[0])
        seq = _scalar(
            conn,
            "INSERT INTO commits(collection, started_at, finished_at, added, removed) "
            "VALUES (%s, %s, %s, 0, 0) RETURNING seq",
            (collection, started, started),
        )
        replaced = [*(update.document.id for update in updates), *removals]
        removed = conn.execute(
            "DELETE FROM chunks WHERE collection_id = %s AND document_id = ANY(%s) "
            "RETURNING class_id, terms",
            (collection_id, replaced),
        ).fetchall()
        conn.execute(
            "DELETE FROM page_layouts WHERE collection_id = %s AND document_id = ANY(%s)",
            (collection_id, replaced),
        )
        conn.execute(
            "DELETE FROM documents WHERE collection_id = %s AND id = ANY(%s)",
            (collection_id, list(removals)),
        )
        classes = _classes(conn, collection_id, updates)
        _upsert_documents(conn, collection_id, updates, seq)
        conn.cursor().executemany(
            "INSERT INTO page_layouts(collection_id, document_id, page, words) "
            "VALUES (%s, %s, %s, %s)",
            [
                (collection_id, u.document.id, p.page, p.to_json())
                for u in updates
                for p in u.layouts
            ],
        )
        added = _insert_chunks(conn, collection_id, updates, classes, analysed, seq)
        delta: Counter[int] = Counter()
        tokens: Counter[int] = Counter()
        for class_id, length in removed:
            delta[int(class_id)] -= 1
            tokens[int(class_id)] -= int(length)
        for class_id, length in added:
            delta[class_id] += 1
            tokens[class_id] += length
        conn.cursor().executemany(
            "UPDATE access_classes SET chunks = chunks + %s, tokens = tokens + %s WHERE id = %s",
            [(delta[c], tokens[c], c) for c in sorted(delta.keys() | tokens.keys())],
        )
        conn.execute(
            "UPDATE commits SET finished_at = %s, added = %s, removed = %s WHERE seq = %s",
            (time.time(), len(added), len(removed), seq),
        )
        conn.execute("UPDATE collections SET last_seq = %s WHERE id = %s", (seq, collection_id))
    return CommitResult(
        seq=seq,
        chunks_added=len(added),
        chunks_removed=len(removed),
        documents_removed=len(removals),
    )


def _scalar(conn: psycopg.Connection, query: str, params: tuple[object, ...]) -> int:
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return int(row[0])


def _classes(
    conn: psycopg.Connection, collection_id: int, updates: Sequence[DocumentUpdate]
) -> dict[tuple[str, ...], int]:
    """The access class of each group set among ``updates`` (created when new)."""
    found: dict[tuple[str, ...], int] = {}
    for groups in sorted({tuple(sorted(set(u.document.groups))) for u in updates}):
        conn.execute(
            "INSERT INTO access_classes(collection_id, groups) VALUES (%s, %s) "
            "ON CONFLICT (collection_id, groups) DO NOTHING",
            (collection_id, list(groups)),
        )
        found[groups] = _scalar(
            conn,
            "SELECT id FROM access_classes WHERE collection_id = %s AND groups = %s",
            (collection_id, list(groups)),
        )
    return found


def _upsert_documents(
    conn: psycopg.Connection, collection_id: int, updates: Sequence[DocumentUpdate], seq: int
) -> None:
    now = time.time()
    conn.cursor().executemany(
        """
        INSERT INTO documents(collection_id, id, source_path, content_sha256, size, mtime,
                              groups, ingested_at, seq, metadata, chunk_count, image_count,
                              groups_origin, groups_rule, relative_path)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
        ON CONFLICT (collection_id, id) DO UPDATE SET
            source_path = excluded.source_path, content_sha256 = excluded.content_sha256,
            size = excluded.size, mtime = excluded.mtime, groups = excluded.groups,
            ingested_at = excluded.ingested_at, seq = excluded.seq,
            metadata = excluded.metadata, chunk_count = excluded.chunk_count,
            image_count = excluded.image_count, groups_origin = excluded.groups_origin,
            groups_rule = excluded.groups_rule, relative_path = excluded.relative_path
        """,
        [
            (
                collection_id,
                u.document.id,
                u.document.source_path,
                u.document.content_sha256,
                u.document.size,
                u.document.mtime,
                sorted(set(u.document.groups)),
                now,
                seq,
                json.dumps(dict(u.document.metadata), ensure_ascii=False),
                len(u.chunks),
                sum(1 for chunk in u.chunks if chunk.kind == "image"),
                u.document.groups_origin,
                u.document.groups_rule,
                u.document.shown_path,
            )
            for u in updates
        ],
    )


def _insert_chunks(
    conn: psycopg.Connection,
    collection_id: int,
    updates: Sequence[DocumentUpdate],
    classes: dict[tuple[str, ...], int],
    analysed: _Analysed,
    seq: int,
) -> list[tuple[int, int]]:
    """COPY the new chunks and their postings; return each one's (class, length)."""
    count = sum(len(update.chunks) for update in updates)
    if not count:
        return []
    vector_ids = [
        int(row[0])
        for row in conn.execute(
            "SELECT nextval(pg_get_serial_sequence('chunks', 'vector_id')) "
            "FROM generate_series(1, %s)",
            (count,),
        )
    ]
    added: list[tuple[int, int]] = []
    postings: list[tuple[int, int, int, int, int, int]] = []
    cursor = conn.cursor()
    with cursor.copy(f"COPY chunks ({_CHUNK_COLUMNS}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(_CHUNK_TYPES)
        position = 0
        for update in updates:
            class_id = classes[tuple(sorted(set(update.document.groups)))]
            for chunk in update.chunks:
                vector_id, length = vector_ids[position], analysed.lengths[position]
                copy.write_row(
                    (vector_id, collection_id, chunk.id, update.document.id, class_id,
                     chunk.kind, chunk.ordinal, chunk.page, chunk.text, chunk.heading,
                     chunk.image_sha256, chunk.tokens, length, chunk.vector, seq,
                     detect_language(chunk.searchable_text))
                )  # fmt: skip
                postings.extend(
                    (collection_id, term, vector_id, tf, length, class_id)
                    for term, tf in sorted(analysed.counts[position].items())
                )
                added.append((class_id, length))
                position += 1
    with cursor.copy(
        "COPY postings (collection_id, term_id, vector_id, tf, length, class_id) "
        "FROM STDIN (FORMAT BINARY)"
    ) as copy:
        copy.set_types(_POSTING_TYPES)
        for posting in postings:
            copy.write_row(posting)
    return added

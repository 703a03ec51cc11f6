"""The database schema as numbered steps, tracked with SQLite's ``PRAGMA user_version``.

A store's file records how many steps it has had; opening it runs the rest, in order, in the
same ``BEGIN IMMEDIATE`` transaction that bumps the number, so a crash mid-upgrade leaves the
old version and two processes opening one store upgrade it once. Steps are append-only: a
released step is never edited (a store that ran it would not run it again), a change is a new
step. A file whose number is above the steps this code knows comes from a newer release and is
refused rather than guessed at.

Version 0 is a store written before versioning (the stop-8 format, pinned by
``tests/fixtures/store-stop8``) or a new, empty file. Step 1 creates the stop-8 schema with
``IF NOT EXISTS``, so it is correct for both without looking at which columns exist.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path, PurePath

from rag.errors import StoreError
from rag.text import headings
from rag.text.language import detect_language

Step = Callable[[sqlite3.Connection], None]


def _stop8_schema(conn: sqlite3.Connection) -> None:
    """1: collections, commits, documents (with metadata and counts), chunks with vectors."""
    for statement in _STOP8_SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)


# ``vector_id`` is AUTOINCREMENT, not a plain rowid, so an id is never reused after a delete
# and a stale FAISS view can never point at a different chunk than the one it was built from.
_STOP8_SCHEMA = """
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
CREATE INDEX IF NOT EXISTS chunks_by_image ON chunks(image_sha256) WHERE image_sha256 IS NOT NULL
"""


def _store_identity(conn: sqlite3.Connection) -> None:
    """2: a store id, which view checkpoints carry, so views of another store are discarded.

    A store rebuilt in the same folder (its SQLite file deleted) hands out the same vector ids
    again; without the id, the old FAISS and BM25 files would be caught up by id and serve the
    old store's passages. The unversioned ``schema_version`` row goes: ``user_version`` is it.
    """
    conn.execute(
        "INSERT OR IGNORE INTO meta(key, value) VALUES ('store_id', ?)", (str(uuid.uuid4()),)
    )
    conn.execute("DELETE FROM meta WHERE key = 'schema_version'")


def _chunk_language(conn: sqlite3.Connection) -> None:
    """3: each chunk's language (:func:`rag.text.language.detect_language`), filled in for old rows.

    Retrieval compares a chunk with a question in another language differently from one in its own
    (:mod:`rag.embeddings.space`), so every chunk needs one. The detector reads only the text, so
    the rows already stored get exactly the value a new ingest would give them, in one pass.
    """
    conn.execute("ALTER TABLE chunks ADD COLUMN language TEXT NOT NULL DEFAULT 'und'")
    conn.create_function("detect_language", 1, detect_language, deterministic=True)
    conn.execute("UPDATE chunks SET language = detect_language(text)")


def _heading_column(conn: sqlite3.Connection) -> None:
    """4: each chunk's heading path in a column of its own, no longer inside its text.

    Earlier releases stored a chunk cut under headings as the path's line, marked by a leading
    U+001E, then the passage (:func:`rag.text.headings.split` finds them again exactly). The
    language stays as detected: it was read from the same words.
    """
    conn.execute("ALTER TABLE chunks ADD COLUMN heading TEXT NOT NULL DEFAULT ''")
    marked = conn.execute(
        "SELECT vector_id, text FROM chunks WHERE substr(text, 1, 1) = ?", (headings.MARK,)
    ).fetchall()
    conn.executemany(
        "UPDATE chunks SET heading = ?, text = ? WHERE vector_id = ?",
        [(*headings.split(text), vector_id) for vector_id, text in marked],
    )


def _access_as_data(conn: sqlite3.Connection) -> None:
    """5: where a document's groups came from; API keys, people and the audit trail.

    A document's groups come from an access rule, an explicit setting (``--groups``, ``docs
    access``, an upload's choice) or nowhere; those stored before could only have come from
    ``--groups``, so a restricted one is recorded as set explicitly, which a later ingest keeps.
    """
    _script(conn, _ACCESS_SCHEMA)
    conn.execute("UPDATE documents SET groups_origin = 'flag' WHERE groups != '[]'")


_ACCESS_SCHEMA = """
ALTER TABLE documents ADD COLUMN groups_origin TEXT NOT NULL DEFAULT 'none';
ALTER TABLE documents ADD COLUMN groups_rule TEXT;
CREATE TABLE api_keys (
    name         TEXT PRIMARY KEY,
    digest       TEXT NOT NULL UNIQUE,
    groups       TEXT NOT NULL DEFAULT '[]',
    scopes       TEXT NOT NULL DEFAULT '["read"]',
    created_at   REAL NOT NULL,
    last_used_at REAL,
    revoked_at   REAL
);
CREATE TABLE people (
    subject    TEXT PRIMARY KEY,
    email      TEXT,
    name       TEXT NOT NULL,
    groups     TEXT NOT NULL DEFAULT '[]',
    first_seen REAL NOT NULL,
    last_seen  REAL NOT NULL
);
CREATE TABLE audit (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    time            REAL NOT NULL,
    who             TEXT NOT NULL,
    surface         TEXT NOT NULL,
    action          TEXT NOT NULL,
    collection      TEXT,
    question        TEXT,
    question_sha256 TEXT,
    documents       TEXT NOT NULL DEFAULT '[]',
    detail          TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_by_time ON audit(time)
"""


def _commit_tokens(conn: sqlite3.Connection) -> None:
    """6: every commit gets a random token, which view checkpoints carry beside its number.

    A commit number is not an identity: a database restored from a backup, or one that lost its
    last transactions in a power cut (WAL with ``synchronous = NORMAL``), numbers its next
    commits again, and AUTOINCREMENT hands out the same vector ids again, so a view saved before
    would pass for current while holding another document's vectors and postings under those
    ids. Views check the token of their commit against this table and rebuild when it differs;
    views saved before this step carry none and are rebuilt once.
    """
    conn.execute("ALTER TABLE commits ADD COLUMN token TEXT NOT NULL DEFAULT ''")
    conn.execute("UPDATE commits SET token = lower(hex(randomblob(16)))")


def _conversations(conn: sqlite3.Connection) -> None:
    """7: saved conversations, each person's, with their turns and share tokens."""
    _script(conn, _CONVERSATIONS_SCHEMA)


_CONVERSATIONS_SCHEMA = """
CREATE TABLE conversations (
    id          TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    title       TEXT NOT NULL,
    collection  TEXT NOT NULL,
    created_at  REAL NOT NULL,
    updated_at  REAL NOT NULL,
    share_token TEXT UNIQUE
);
CREATE INDEX conversations_by_owner ON conversations(owner, updated_at);
CREATE TABLE conversation_turns (
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    position        INTEGER NOT NULL,
    question        TEXT NOT NULL,
    answer          TEXT NOT NULL,
    collection      TEXT NOT NULL,
    sources         TEXT NOT NULL DEFAULT '[]',
    error           TEXT,
    image           INTEGER NOT NULL DEFAULT 0,
    asked_at        REAL NOT NULL,
    PRIMARY KEY (conversation_id, position)
)
"""


def _script(conn: sqlite3.Connection, script: str) -> None:
    """Run the statements of ``script``, separated by semicolons."""
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def _sync_state(conn: sqlite3.Connection) -> None:
    """8: the sources' sync state (:mod:`rag.store.sync_state`).

    Each source's last sync, and the validators (ETag, Last-Modified, body hash) of every page
    a site source fetched.
    """
    _script(conn, _SYNC_SCHEMA)


_SYNC_SCHEMA = """
CREATE TABLE sync_sources (
    name        TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    collection  TEXT NOT NULL,
    started_at  REAL NOT NULL,
    finished_at REAL NOT NULL,
    status      TEXT NOT NULL,
    cursor      TEXT,
    summary     TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE sync_items (
    source         TEXT NOT NULL,
    locator        TEXT NOT NULL,
    path           TEXT NOT NULL,
    etag           TEXT,
    last_modified  TEXT,
    content_sha256 TEXT,
    checked_at     REAL NOT NULL,
    PRIMARY KEY (source, locator)
)
"""


def _sources_to_open(conn: sqlite3.Connection) -> None:
    """9: each document's path relative to where it was ingested from; its pages' word boxes.

    The relative path is what people are shown instead of the server's path. Documents stored
    before kept no record of the folder they were found under, so they get their file's name
    until they are ingested again. Page layouts (where each word of a PDF page is printed) let
    a source be shown highlighted on its page; earlier ingests kept none, so their pages are
    shown without a highlight until the file changes or is ingested into a new store.
    """
    _script(conn, _SOURCES_SCHEMA)
    conn.create_function("file_name", 1, lambda path: PurePath(path).name, deterministic=True)
    conn.execute("UPDATE documents SET relative_path = file_name(source_path)")


_SOURCES_SCHEMA = """
ALTER TABLE documents ADD COLUMN relative_path TEXT NOT NULL DEFAULT '';
CREATE TABLE page_layouts (
    collection  TEXT NOT NULL,
    document_id TEXT NOT NULL,
    page        INTEGER NOT NULL,
    words       TEXT NOT NULL,
    PRIMARY KEY (collection, document_id, page),
    FOREIGN KEY (collection, document_id)
        REFERENCES documents(collection, id) ON DELETE CASCADE
)
"""

STEPS: tuple[Step, ...] = (
    _stop8_schema,
    _store_identity,
    _chunk_language,
    _heading_column,
    _access_as_data,
    _commit_tokens,
    _conversations,
    _sync_state,
    _sources_to_open,
)
LATEST = len(STEPS)


def upgrade(conn: sqlite3.Connection, path: Path) -> None:
    """Run the steps ``path`` has not had (inside the caller's ``BEGIN IMMEDIATE``).

    Raises:
        StoreError: The file was written by a newer release.

    """
    # Read under the write lock: another process may have upgraded the file a moment ago.
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > LATEST:
        msg = (
            f"{path}: store format {version} is newer than this release understands "
            f"({LATEST}); upgrade bllossom-rag or use another data_dir"
        )
        raise StoreError(msg)
    for step in STEPS[version:]:
        step(conn)
    if version < LATEST:
        conn.execute(f"PRAGMA user_version = {LATEST}")

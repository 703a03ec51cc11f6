"""The PostgreSQL schema as numbered steps, run once per database under an advisory lock.

Like the embedded store's (:mod:`rag.store.migrations`), steps are append-only and the version
is stored with the data (``meta.schema_version``); opening a store runs the steps it has not
had, in one transaction that holds a transaction-level advisory lock, so instances starting at
once upgrade the schema exactly once and none reads a half-built one. A version above what
this release knows is refused. Before any step, the server and pgvector are checked: iterative
index scans (what keeps a filtered search from losing neighbours) need pgvector 0.8.

The data model mirrors the embedded store's, with three additions for searching in SQL:

- ``access_classes``: one row per distinct group set of a collection, with its chunk count and
  total keyword tokens. A chunk carries its document's class, so the access filter is one
  integer comparison inside the index scan, and BM25's N and average length for any caller
  are a sum over the few classes they may read, kept exact in every commit's transaction.
- ``terms`` and ``postings``: the keyword index (one row per chunk and distinct Kiwi token,
  with its count, the chunk's length and class), so BM25 is computed in SQL from the postings
  of the query's words that the caller may read.
- ``images``: the stored images themselves (``bytea``), so every instance serves them.

Vectors are ``vector`` without a fixed size (collections differ); each collection's HNSW index
is a partial expression index with its size (:mod:`rag.store.postgres.dense`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import psycopg

from rag.errors import StoreError
from rag.text import headings
from rag.text.language import detect_language

Step = Callable[[psycopg.Connection], None]
# Any fixed number: the lock only orders upgrades of one database.
_UPGRADE_LOCK = 0x626C6F73  # "blos"
MIN_SERVER = 150000
MIN_PGVECTOR = (0, 8, 0)
_LANGUAGE_BATCH = 5000

_SCHEMA_1 = """
CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE collections (
    id              serial PRIMARY KEY,
    name            text NOT NULL UNIQUE,
    embedding_model text NOT NULL,
    dimension       integer NOT NULL CHECK (dimension BETWEEN 1 AND 16000),
    created_at      double precision NOT NULL,
    last_seq        bigint NOT NULL DEFAULT 0
);
CREATE TABLE commits (
    seq         bigserial PRIMARY KEY,
    collection  text NOT NULL,
    started_at  double precision NOT NULL,
    finished_at double precision NOT NULL,
    added       integer NOT NULL,
    removed     integer NOT NULL
);
CREATE TABLE access_classes (
    id            serial PRIMARY KEY,
    collection_id integer NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    groups        text[] NOT NULL,
    chunks        bigint NOT NULL DEFAULT 0,
    tokens        bigint NOT NULL DEFAULT 0,
    UNIQUE (collection_id, groups)
);
CREATE TABLE documents (
    collection_id  integer NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    id             text NOT NULL,
    source_path    text NOT NULL,
    content_sha256 text NOT NULL,
    size           bigint NOT NULL,
    mtime          double precision NOT NULL,
    groups         text[] NOT NULL DEFAULT '{}',
    ingested_at    double precision NOT NULL,
    seq            bigint NOT NULL,
    metadata       jsonb NOT NULL DEFAULT '{}',
    chunk_count    integer NOT NULL DEFAULT 0,
    image_count    integer NOT NULL DEFAULT 0,
    PRIMARY KEY (collection_id, id)
);
CREATE INDEX documents_by_path ON documents (collection_id, source_path);
CREATE TABLE chunks (
    vector_id     bigserial PRIMARY KEY,
    collection_id integer NOT NULL,
    id            text NOT NULL,
    document_id   text NOT NULL,
    class_id      integer NOT NULL REFERENCES access_classes(id),
    kind          text NOT NULL DEFAULT 'text',
    ordinal       integer NOT NULL,
    page          integer,
    text          text NOT NULL,
    image_sha256  text,
    tokens        integer NOT NULL,
    terms         integer NOT NULL,
    embedding     vector NOT NULL,
    seq           bigint NOT NULL,
    UNIQUE (collection_id, id),
    FOREIGN KEY (collection_id, document_id)
        REFERENCES documents(collection_id, id) ON DELETE CASCADE
);
CREATE INDEX chunks_by_document ON chunks (collection_id, document_id);
CREATE INDEX chunks_by_class ON chunks (collection_id, class_id);
CREATE INDEX chunks_by_image ON chunks (image_sha256) WHERE image_sha256 IS NOT NULL;
CREATE TABLE terms (id serial PRIMARY KEY, term text NOT NULL UNIQUE);
CREATE TABLE postings (
    collection_id integer NOT NULL,
    term_id       integer NOT NULL,
    vector_id     bigint NOT NULL REFERENCES chunks(vector_id) ON DELETE CASCADE,
    tf            integer NOT NULL,
    length        integer NOT NULL,
    class_id      integer NOT NULL,
    PRIMARY KEY (collection_id, term_id, vector_id) INCLUDE (tf, length, class_id)
);
CREATE INDEX postings_by_chunk ON postings (vector_id);
CREATE TABLE images (
    sha256    text PRIMARY KEY,
    png       bytea NOT NULL,
    thumbnail bytea NOT NULL
)
"""


def _schema(conn: psycopg.Connection) -> None:
    """1: the data model above, and this store's id (which tags its local caches)."""
    for statement in _SCHEMA_1.split(";"):
        conn.execute(statement)
    conn.execute("INSERT INTO meta(key, value) VALUES ('store_id', %s)", (str(uuid.uuid4()),))


def _chunk_language(conn: psycopg.Connection) -> None:
    """2: each chunk's language (:func:`rag.text.language.detect_language`), as embedded step 3.

    Filled in for stored chunks by the same detector, in batches read by a server-side
    cursor, so an upgrade of a large store holds neither every text in memory nor one huge
    statement.
    """
    conn.execute("ALTER TABLE chunks ADD COLUMN language text NOT NULL DEFAULT 'und'")
    with conn.cursor(name="chunk_texts") as texts:
        texts.execute("SELECT vector_id, text FROM chunks")
        while rows := texts.fetchmany(_LANGUAGE_BATCH):
            conn.cursor().executemany(
                "UPDATE chunks SET language = %s WHERE vector_id = %s",
                [(detect_language(text), vector_id) for vector_id, text in rows],
            )


def _heading_column(conn: psycopg.Connection) -> None:
    """3: each chunk's heading path in a column of its own, as embedded step 4.

    Earlier releases kept it inside the text, marked by a leading U+001E; the marked rows are
    split in SQL (the postings were counted from the same words and stay as they are).
    """
    conn.execute("ALTER TABLE chunks ADD COLUMN heading text NOT NULL DEFAULT ''")
    conn.execute(
        r"""
        UPDATE chunks
           SET heading = split_part(substr(text, 2), E'\n', 1),
               text = substr(text, length(split_part(text, E'\n', 1)) + 2)
         WHERE starts_with(text, %s)
        """,
        (headings.MARK,),
    )


def _access_as_data(conn: psycopg.Connection) -> None:
    """4: where a document's groups came from; API keys, people and the audit trail.

    As embedded step 5: a restricted document stored before is recorded as set explicitly.
    """
    _script(conn, _ACCESS_SCHEMA)
    conn.execute("UPDATE documents SET groups_origin = 'flag' WHERE groups <> '{}'")


_ACCESS_SCHEMA = """
ALTER TABLE documents ADD COLUMN groups_origin text NOT NULL DEFAULT 'none';
ALTER TABLE documents ADD COLUMN groups_rule text;
CREATE TABLE api_keys (
    name         text PRIMARY KEY,
    digest       text NOT NULL UNIQUE,
    groups       text NOT NULL DEFAULT '[]',
    scopes       text NOT NULL DEFAULT '["read"]',
    created_at   double precision NOT NULL,
    last_used_at double precision,
    revoked_at   double precision
);
CREATE TABLE people (
    subject    text PRIMARY KEY,
    email      text,
    name       text NOT NULL,
    groups     text NOT NULL DEFAULT '[]',
    first_seen double precision NOT NULL,
    last_seen  double precision NOT NULL
);
CREATE TABLE audit (
    id              bigserial PRIMARY KEY,
    time            double precision NOT NULL,
    who             text NOT NULL,
    surface         text NOT NULL,
    action          text NOT NULL,
    collection      text,
    question        text,
    question_sha256 text,
    documents       text NOT NULL DEFAULT '[]',
    detail          text NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_by_time ON audit(time)
"""


def _conversations(conn: psycopg.Connection) -> None:
    """5: saved conversations, as embedded step 7."""
    _script(conn, _CONVERSATIONS_SCHEMA)


_CONVERSATIONS_SCHEMA = """
CREATE TABLE conversations (
    id          text PRIMARY KEY,
    owner       text NOT NULL,
    title       text NOT NULL,
    collection  text NOT NULL,
    created_at  double precision NOT NULL,
    updated_at  double precision NOT NULL,
    share_token text UNIQUE
);
CREATE INDEX conversations_by_owner ON conversations(owner, updated_at);
CREATE TABLE conversation_turns (
    conversation_id text NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    position        integer NOT NULL,
    question        text NOT NULL,
    answer          text NOT NULL,
    collection      text NOT NULL,
    sources         text NOT NULL DEFAULT '[]',
    error           text,
    image           integer NOT NULL DEFAULT 0,
    asked_at        double precision NOT NULL,
    PRIMARY KEY (conversation_id, position)
)
"""


def _script(conn: psycopg.Connection, script: str) -> None:
    """Run the statements of ``script``, separated by semicolons."""
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def _sync_state(conn: psycopg.Connection) -> None:
    """6: the sources' sync state, as embedded step 8 (:mod:`rag.store.sync_state`)."""
    _script(conn, _SYNC_SCHEMA)


_SYNC_SCHEMA = """
CREATE TABLE sync_sources (
    name        text PRIMARY KEY,
    kind        text NOT NULL,
    collection  text NOT NULL,
    started_at  double precision NOT NULL,
    finished_at double precision NOT NULL,
    status      text NOT NULL,
    cursor      text,
    summary     text NOT NULL DEFAULT '{}'
);
CREATE TABLE sync_items (
    source         text NOT NULL,
    locator        text NOT NULL,
    path           text NOT NULL,
    etag           text,
    last_modified  text,
    content_sha256 text,
    checked_at     double precision NOT NULL,
    PRIMARY KEY (source, locator)
)
"""


def _sources_to_open(conn: psycopg.Connection) -> None:
    """7: each document's path relative to where it was ingested from; its pages' word boxes.

    As embedded step 9: documents stored before get their file's name (the last component of
    their path), and no page layouts.
    """
    _script(conn, _SOURCES_SCHEMA)
    conn.execute("UPDATE documents SET relative_path = regexp_replace(source_path, '^.*/', '')")


_SOURCES_SCHEMA = """
ALTER TABLE documents ADD COLUMN relative_path text NOT NULL DEFAULT '';
CREATE TABLE page_layouts (
    collection_id integer NOT NULL,
    document_id   text NOT NULL,
    page          integer NOT NULL,
    words         text NOT NULL,
    PRIMARY KEY (collection_id, document_id, page),
    FOREIGN KEY (collection_id, document_id)
        REFERENCES documents(collection_id, id) ON DELETE CASCADE
)
"""

STEPS: tuple[Step, ...] = (
    _schema,
    _chunk_language,
    _heading_column,
    _access_as_data,
    _conversations,
    _sync_state,
    _sources_to_open,
)
LATEST = len(STEPS)


def upgrade(conn: psycopg.Connection, where: str) -> str:
    """Check the server, run the steps this database has not had; return the store's id.

    Args:
        conn: An autocommit connection.
        where: The redacted URL, for messages.

    Raises:
        StoreError: The server or pgvector is too old, the extension cannot be created, or
            the schema comes from a newer release.

    """
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_UPGRADE_LOCK,))
        _check_server(conn, where)
        version = _version(conn)
        if version > LATEST:
            msg = (
                f"{where}: store schema {version} is newer than this release understands "
                f"({LATEST}); upgrade bllossom-rag or use another database"
            )
            raise StoreError(msg)
        try:
            for step in STEPS[version:]:
                step(conn)
        except psycopg.errors.InsufficientPrivilege as error:
            msg = (
                f"{where}: this user may not create the store's tables "
                f"({str(error).splitlines()[0]}); as the "
                "database's owner run: GRANT CREATE ON SCHEMA public TO <this user>;"
            )
            raise StoreError(msg) from None
        if version < LATEST:
            conn.execute(
                "INSERT INTO meta(key, value) VALUES ('schema_version', %s) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(LATEST),),
            )
        row = conn.execute("SELECT value FROM meta WHERE key = 'store_id'").fetchone()
    assert row is not None  # step 1 wrote it
    return str(row[0])


def _version(conn: psycopg.Connection) -> int:
    """The schema version of this database (0: no store here yet)."""
    exists = conn.execute("SELECT to_regclass('meta') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return 0
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0


def _check_server(conn: psycopg.Connection, where: str) -> None:
    """PostgreSQL 15+ with pgvector 0.8+, creating the extension when it is missing."""
    if conn.info.server_version < MIN_SERVER:
        msg = f"{where}: PostgreSQL {conn.info.server_version // 10000} is too old; use 15 or newer"
        raise StoreError(msg)
    version = _pgvector(conn)
    if version is None:
        try:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        except psycopg.errors.InsufficientPrivilege:
            msg = (
                f"{where}: the pgvector extension is not installed in this database and this "
                "user may not install it; as a superuser run: CREATE EXTENSION vector;"
            )
            raise StoreError(msg) from None
        except (psycopg.errors.UndefinedFile, psycopg.errors.FeatureNotSupported):
            msg = f"{where}: pgvector is not installed on this server; install pgvector 0.8+"
            raise StoreError(msg) from None
        version = _pgvector(conn) or "0"
    if _parse(version) < MIN_PGVECTOR:
        msg = (
            f"{where}: pgvector {version} is too old (0.8 or newer is needed for filtered "
            "searches that keep their neighbours); run: ALTER EXTENSION vector UPDATE;"
        )
        raise StoreError(msg)


def _pgvector(conn: psycopg.Connection) -> str | None:
    row = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()
    return str(row[0]) if row else None


def _parse(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".") if part.isdigit())

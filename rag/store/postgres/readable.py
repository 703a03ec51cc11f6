"""What one caller may read in one collection, decided in SQL: access classes and their counts.

Every chunk carries the access class of its document (:mod:`rag.store.postgres.migrations`):
one class per distinct group set in the collection, few in practice. A caller's readable
classes are those without groups or sharing one of the caller's groups, chosen by SQL over the
groups themselves; the searches then filter on ``class_id`` inside their scans, and the classes'
counts give BM25 the statistics of exactly what the caller may read (count and total length),
without counting rows. All of it is read inside the search's own snapshot, so a commit landing
in between cannot widen a filter.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from rag.access import Access


@dataclass(frozen=True)
class Readable:
    """The chunks one caller may read in one collection.

    Attributes:
        classes: The readable access classes; None when nothing in the collection is hidden
            from this caller (the searches then need no filter).
        chunks: How many chunks the caller may read (BM25's N).
        tokens: Their keyword tokens in total (BM25's average length is ``tokens / chunks``).
        total: How many chunks the collection holds.

    """

    classes: list[int] | None
    chunks: int
    tokens: int
    total: int

    @property
    def average_length(self) -> float:
        """BM25's average chunk length over the readable chunks."""
        return self.tokens / self.chunks if self.chunks else 1.0


def readable(conn: psycopg.Connection, collection_id: int, access: Access) -> Readable:
    """The classes of ``collection_id`` that ``access`` may read, with their statistics."""
    rows = conn.execute(
        """
        SELECT id, chunks, tokens,
               %(everything)s OR cardinality(groups) = 0 OR groups && %(groups)s::text[]
        FROM access_classes WHERE collection_id = %(collection)s
        """,
        {
            "everything": access.everything,
            "groups": sorted(access.groups),
            "collection": collection_id,
        },
    ).fetchall()
    allowed = [row for row in rows if row[3]]
    hidden = any(row[1] > 0 for row in rows if not row[3])
    return Readable(
        classes=[int(row[0]) for row in allowed] if hidden else None,
        chunks=sum(int(row[1]) for row in allowed),
        tokens=sum(int(row[2]) for row in allowed),
        total=sum(int(row[1]) for row in rows),
    )


def document_filter(access: Access) -> tuple[str, dict[str, object]]:
    """SQL condition on documents ``d`` that ``access`` may read, and its parameters."""
    if access.everything:
        return "TRUE", {}
    return (
        "(cardinality(d.groups) = 0 OR d.groups && %(reader_groups)s::text[])",
        {"reader_groups": sorted(access.groups)},
    )

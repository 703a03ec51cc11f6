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


@dataclass(frozen=True)
class Scope:
    """One caller in one collection: the collection's id and vector size, what they may read."""

    collection_id: int
    dimension: int
    readable: Readable


def scope(conn: psycopg.Connection, collection: str, access: Access) -> Scope | None:
    """What ``access`` may read in ``collection`` (None when it does not exist), in one query."""
    rows = conn.execute(
        """
        SELECT c.id, c.dimension, a.id, a.chunks, a.tokens,
               %(everything)s OR cardinality(a.groups) = 0 OR a.groups && %(groups)s::text[]
        FROM collections c LEFT JOIN access_classes a ON a.collection_id = c.id
        WHERE c.name = %(collection)s
        """,
        {
            "everything": access.everything,
            "groups": sorted(access.groups),
            "collection": collection,
        },
    ).fetchall()
    if not rows:
        return None
    classes = [
        (int(row[2]), int(row[3]), int(row[4]), bool(row[5])) for row in rows if row[2] is not None
    ]
    allowed = [c for c in classes if c[3]]
    hidden = any(chunks > 0 for _, chunks, _, ok in classes if not ok)
    return Scope(
        collection_id=int(rows[0][0]),
        dimension=int(rows[0][1]),
        readable=Readable(
            classes=[c[0] for c in allowed] if hidden else None,
            chunks=sum(c[1] for c in allowed),
            tokens=sum(c[2] for c in allowed),
            total=sum(c[1] for c in classes),
        ),
    )


def document_filter(access: Access) -> tuple[str, dict[str, object]]:
    """SQL condition on documents ``d`` that ``access`` may read, and its parameters."""
    if access.everything:
        return "TRUE", {}
    return (
        "(cardinality(d.groups) = 0 OR d.groups && %(reader_groups)s::text[])",
        {"reader_groups": sorted(access.groups)},
    )

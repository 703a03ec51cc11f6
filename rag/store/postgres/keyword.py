"""BM25 in SQL over the same Kiwi morphemes, with the statistics of what the caller may read.

The embedded store's BM25 (:mod:`rag.store.sparse_index`) defines the scores; this module
computes the same numbers from the ``postings`` table: per query word, the readable postings
(``class_id`` filter inside the index scan), their count is the word's document frequency,
and N and the average length come from the caller's access classes (:class:`Readable`). So
idf, N and the average length are those of the chunks the caller may read, and a hidden
document's words cannot move a visible score.

Why postings rather than ``sparsevec`` columns: a stored BM25 weight bakes in one idf and one
average length, those of the whole collection, which is exactly what access-respecting
statistics must not use, and it changes with every commit. Postings keep only the counts, so a
commit writes its own rows and nothing else, and every caller's weights are computed at query
time from the postings its query touches (a covering primary key, read by index-only scans).

Two statements per query: the readable document frequency of each query word (idf is
computed here, in Python, exactly as the embedded store does), then the scores, summed per
chunk, best first (ties by vector id, as there), with the words each chunk matched, which the
keyword coverage of each candidate needs (:func:`keyword_coverage`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import psycopg

from rag.store.bm25 import K1, B, keyword_coverage, query_terms
from rag.store.postgres.readable import Readable
from rag.store.records import KeywordQuery


@dataclass(frozen=True)
class PreparedKeywords:
    """One query's words, with their readable idf (times their weight), ready to score chunks.

    Attributes:
        collection_id: The collection.
        readable: What the caller may read there.
        idf: Query word -> its weight times its idf over the readable chunks (every distinct
            query word), so a weighted query scales each word's scores and evidence exactly as
            the embedded store does.
        term_ids: Query word -> vocabulary id, for the words some readable chunk contains.

    """

    collection_id: int
    readable: Readable
    idf: dict[str, float]
    term_ids: dict[str, int]

    @classmethod
    def prepare(
        cls, conn: psycopg.Connection, collection_id: int, query: KeywordQuery, readable: Readable
    ) -> PreparedKeywords:
        """Tokenize ``query`` (or take its weighted terms); read their readable frequencies."""
        weights = query_terms(query)
        words = list(weights)
        found: dict[str, tuple[int, int]] = {}
        if words and readable.chunks:
            rows = conn.execute(
                """
                SELECT t.term, t.id, count(*) FROM terms t
                JOIN postings p ON p.collection_id = %(collection)s AND p.term_id = t.id
                WHERE t.term = ANY(%(words)s)
                  AND (%(classes)s::int[] IS NULL OR p.class_id = ANY(%(classes)s::int[]))
                GROUP BY t.term, t.id
                """,
                {"collection": collection_id, "words": words, "classes": readable.classes},
            ).fetchall()
            found = {str(term): (int(term_id), int(df)) for term, term_id, df in rows}
        n = readable.chunks
        # A word no readable chunk contains scores as a word in no document at all.
        idf = {
            word: weights[word] * math.log1p((n - df + 0.5) / (df + 0.5))
            for word in words
            for df in [found[word][1] if word in found else 0]
        }
        return cls(collection_id, readable, idf, {w: found[w][0] for w in found})

    def ranked(
        self, conn: psycopg.Connection, limit: int, among: list[int] | None = None
    ) -> list[tuple[int, float, list[int]]]:
        """The best readable chunks, ``(vector id, score, matched term ids)``, best first.

        Args:
            conn: The connection (inside the search's transaction).
            limit: How many.
            among: Only these vector ids (to fill in the BM25 score of dense candidates).

        """
        if not self.term_ids or limit < 1:
            return []
        ids = sorted(self.term_ids.values())
        rows = conn.execute(
            """
            WITH q(term_id, idf) AS (SELECT * FROM unnest(%(terms)s::int[], %(idf)s::float8[]))
            SELECT p.vector_id,
                   sum(q.idf * p.tf * %(k1p1)s
                       / (p.tf + %(k1)s * (1 - %(b)s + %(b)s * p.length / %(average)s))),
                   array_agg(p.term_id)
            FROM postings p JOIN q ON q.term_id = p.term_id
            WHERE p.collection_id = %(collection)s
              AND (%(classes)s::int[] IS NULL OR p.class_id = ANY(%(classes)s::int[]))
              AND (%(among)s::bigint[] IS NULL OR p.vector_id = ANY(%(among)s::bigint[]))
            GROUP BY p.vector_id
            ORDER BY 2 DESC, 1
            LIMIT %(limit)s
            """,
            {
                "terms": ids,
                "idf": [self._term_idf[term_id] for term_id in ids],
                "k1p1": K1 + 1,
                "k1": K1,
                "b": B,
                "average": max(self.readable.average_length, 1e-9),
                "collection": self.collection_id,
                "classes": self.readable.classes,
                "among": among,
                "limit": limit,
            },
        ).fetchall()
        return [(int(v), float(score), [int(t) for t in terms]) for v, score, terms in rows]

    @cached_property
    def _term_idf(self) -> dict[int, float]:
        """Vocabulary id -> idf, for the query words some readable chunk contains."""
        return {term_id: self.idf[word] for word, term_id in self.term_ids.items()}

    def coverage(self, matched: Mapping[int, list[int]]) -> dict[int, float]:
        """Per chunk (its matched term ids), the share of the query's idf mass it holds."""
        held = np.array(
            [sum(self._term_idf.get(t, 0.0) for t in set(terms)) for terms in matched.values()]
        )
        shares = keyword_coverage(list(self.idf.values()), held) if len(held) else held
        return dict(zip(matched, shares.tolist(), strict=True))

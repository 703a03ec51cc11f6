"""Answers people rated, kept to grow an evaluation set from real questions.

The web app's thumbs up/down store one row per rated answer in ``data_dir/feedback.sqlite3``:
the question, the earlier turns of its conversation, the answer, the sources it was given, the
rating. Like the UI's timings (``ui-metrics.sqlite3``) it is apart from the store's database:
it is not documents, and writing it must never wait for an ingest.

:meth:`FeedbackLog.export_eval` turns it into the JSONL ``bllossom-rag eval`` reads. A thumbs up
says the answer was right, so its sources are relevant: the entries are the source files the
answer cited (``[n]``), or every source when it cited none. A follow-up keeps its earlier
questions as ``history``, so the evaluation searches it as the chat did. A thumbs down says
something was wrong but not which passage would have been right, so it is not exported (the
count is reported; a person can name the right passage and add the line). When the same turn
(collection, conversation, question) is rated more than once, the latest rating counts.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.runtime.files import atomic_write
from rag.runtime.sqlite_log import connect_log

FEEDBACK_FILE = "feedback.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          REAL NOT NULL,
    collection  TEXT NOT NULL,
    question    TEXT NOT NULL,
    history     TEXT NOT NULL,   -- JSON: [{"role": "user"|"assistant", "content": ...}]
    answer      TEXT NOT NULL,
    sources     TEXT NOT NULL,   -- JSON: the ask --json source objects, in citation order
    rating      INTEGER NOT NULL -- +1 up, -1 down
)
"""
_CITED = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")


@dataclass(frozen=True)
class Feedback:
    """One rated answer.

    Attributes:
        collection: Where it was asked.
        question: The question.
        history: The conversation before it, ``{"role", "content"}`` turns, oldest first.
        answer: The answer shown.
        sources: The sources shown, as ``ask --json`` prints them (``[n]`` is ``sources[n-1]``).
        rating: ``1`` for thumbs up, ``-1`` for thumbs down.
        at: When (Unix time).

    """

    collection: str
    question: str
    history: tuple[dict[str, str], ...]
    answer: str
    sources: tuple[dict[str, Any], ...]
    rating: int
    at: float = 0.0

    def turn(self) -> tuple[str, str, str]:
        """What identifies the rated turn: collection, conversation, question."""
        return self.collection, json.dumps(self.history, ensure_ascii=False), self.question

    def eval_line(self) -> dict[str, Any]:
        """The eval JSONL object for a thumbs-up answer (its cited sources are the relevant)."""
        cited = {int(n) for group in _CITED.findall(self.answer) for n in group.split(",")}
        chosen = [s for number, s in enumerate(self.sources, start=1) if number in cited]
        relevant = list(dict.fromkeys(str(s["source"]) for s in chosen or self.sources))
        line: dict[str, Any] = {"query": self.question, "relevant": relevant}
        earlier = [turn["content"] for turn in self.history if turn["role"] == "user"]
        if earlier:
            line["history"] = earlier
        return line


@dataclass(frozen=True)
class ExportReport:
    """What :meth:`FeedbackLog.export_eval` wrote."""

    written: int
    thumbs_down: int
    without_sources: int


class FeedbackLog:
    """Append-only log of :class:`Feedback` rows.

    Args:
        path: The SQLite file; created on first write.

    """

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> FeedbackLog:
        """The log of a data folder."""
        return cls(Path(data_dir).expanduser() / FEEDBACK_FILE)

    def _connect(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        return connect_log(self.path, _SCHEMA)

    def record(self, feedback: Feedback) -> None:
        """Append one rating (``at`` is set to now when it is 0)."""
        if feedback.rating not in (1, -1):
            msg = f"a rating is 1 or -1, not {feedback.rating!r}"
            raise ValueError(msg)
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO feedback(at, collection, question, history, answer, sources, rating)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    feedback.at or time.time(),
                    feedback.collection,
                    feedback.question,
                    json.dumps(feedback.history, ensure_ascii=False),
                    feedback.answer,
                    json.dumps(feedback.sources, ensure_ascii=False),
                    feedback.rating,
                ),
            )

    def entries(self) -> list[Feedback]:
        """Every rating, oldest first."""
        if not self.path.exists():
            return []
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT collection, question, history, answer, sources, rating, at "
                "FROM feedback ORDER BY id"
            ).fetchall()
        return [
            Feedback(
                collection=collection,
                question=question,
                history=tuple(json.loads(history)),
                answer=answer,
                sources=tuple(json.loads(sources)),
                rating=int(rating),
                at=float(at),
            )
            for collection, question, history, answer, sources, rating, at in rows
        ]

    def export_eval(self, path: Path, collections: Sequence[str] = ()) -> ExportReport:
        """Write the thumbs-up answers as eval JSONL (atomically), latest rating per turn.

        Args:
            path: The JSONL file to write.
            collections: Only these collections (default: all).

        """
        latest: dict[tuple[str, str, str], Feedback] = {}
        for entry in self.entries():
            if not collections or entry.collection in collections:
                latest.pop(entry.turn(), None)  # re-rated: it moves to its latest position
                latest[entry.turn()] = entry
        kept = [entry for entry in latest.values() if entry.rating > 0 and entry.sources]
        lines = [json.dumps(entry.eval_line(), ensure_ascii=False) + "\n" for entry in kept]
        atomic_write(path, "".join(lines).encode("utf-8"))
        return ExportReport(
            written=len(kept),
            thumbs_down=sum(entry.rating < 0 for entry in latest.values()),
            without_sources=sum(
                entry.rating > 0 and not entry.sources for entry in latest.values()
            ),
        )

"""Generation timings from the chat page, kept in a small SQLite file next to the store.

The dashboard charts time to first token and decode speed over the last answers. Keeping them
in ``data_dir/ui-metrics.sqlite3`` rather than in memory means they survive restarts and are
shared by every session and every UI process on the same data folder; they are kept apart from
the store's own database because they are not documents and must never block an ingest.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.outputs import LLMResult

from rag.runtime.sqlite_log import connect_log

METRICS_FILE = "ui-metrics.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS generations (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    at            REAL NOT NULL,
    collection    TEXT NOT NULL,
    backend       TEXT NOT NULL,
    ttft_s        REAL,
    duration_s    REAL NOT NULL,
    output_tokens INTEGER NOT NULL,
    error         TEXT
)
"""


@dataclass(frozen=True)
class GenerationSample:
    """One answer: when, where, how fast (``ttft_s`` is None when no token arrived)."""

    at: float
    collection: str
    backend: str
    ttft_s: float | None
    duration_s: float
    output_tokens: int
    error: str | None = None

    @property
    def tokens_per_s(self) -> float | None:
        """Decode speed after the first token; None when it cannot be measured."""
        if self.ttft_s is None or self.output_tokens < 2:
            return None
        decoding = self.duration_s - self.ttft_s
        return (self.output_tokens - 1) / decoding if decoding > 0 else None


class GenerationLog:
    """Append-only log of :class:`GenerationSample` rows.

    Args:
        path: The SQLite file; created on first use.

    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def _connect(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        return connect_log(self.path, _SCHEMA)

    def record(self, sample: GenerationSample) -> None:
        """Append one sample."""
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO generations(at, collection, backend, ttft_s, duration_s, "
                "output_tokens, error) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    sample.at,
                    sample.collection,
                    sample.backend,
                    sample.ttft_s,
                    sample.duration_s,
                    sample.output_tokens,
                    sample.error,
                ),
            )

    def recent(self, limit: int = 200) -> list[GenerationSample]:
        """The newest ``limit`` samples, oldest first (ready to chart)."""
        if not self.path.exists():
            return []
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT at, collection, backend, ttft_s, duration_s, output_tokens, error "
                "FROM generations ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [GenerationSample(*row) for row in reversed(rows)]


@dataclass(eq=False)  # callback managers keep handlers in sets: hash by identity
class GenerationTimer(BaseCallbackHandler):
    """Times one chain run: pass it in ``callbacks`` and call :meth:`answer_piece` per piece.

    The token count comes from the model's usage report when it gives one (in-process
    Bllossom and OpenAI-compatible servers do), else from the number of streamed pieces.
    """

    started: float = field(default_factory=time.perf_counter)
    first_at: float | None = None
    pieces: int = 0
    reported_tokens: int | None = None

    def answer_piece(self) -> None:
        """Count an answer piece as it arrives (the first one stops the TTFT clock)."""
        self.pieces += 1
        if self.first_at is None:
            self.first_at = time.perf_counter()

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        """Read the output-token count from the final message's usage metadata."""
        for generations in response.generations:
            for generation in generations:
                usage = getattr(getattr(generation, "message", None), "usage_metadata", None)
                if usage and usage.get("output_tokens"):
                    self.reported_tokens = int(usage["output_tokens"])

    def sample(self, collection: str, backend: str, error: str | None = None) -> GenerationSample:
        """The finished measurement."""
        now = time.perf_counter()
        return GenerationSample(
            at=time.time(),
            collection=collection,
            backend=backend,
            ttft_s=None if self.first_at is None else self.first_at - self.started,
            duration_s=now - self.started,
            output_tokens=self.reported_tokens or self.pieces,
            error=error,
        )

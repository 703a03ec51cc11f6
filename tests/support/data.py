"""What the session's shared data fixtures hold (see ``tests/conftest.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.store import Store


@dataclass(frozen=True)
class ExamplesData:
    """``examples/`` ingested once into the default collection, and that run's ``--json``."""

    data_dir: Path
    report: dict[str, Any]


@dataclass(frozen=True)
class KorQuAD:
    """KorQuAD dev ingested once per session: one file per paragraph, a fixed question sample."""

    store: Store
    collection: str
    corpus: Path
    sample: list[tuple[str, str]]  # (question, gold paragraph file name)
    paragraphs: int

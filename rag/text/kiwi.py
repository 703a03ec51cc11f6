"""One Kiwi analyzer per process, shared by BM25 tokenization and Korean sentence splitting.

Kiwi (kiwipiepy) takes seconds to load its model (2-5 s on a busy 2-core machine, more than it
then spends analysing a few hundred documents) and about 100 MB to hold, so there is exactly
one, created on first use. Ingestion calls :func:`preload` as it starts: the load then overlaps
reading, chunking and embedding files instead of stalling the BM25 view build at the end.

Kiwi's batch calls are not re-entrant, so the analyzer is only handed out under a lock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kiwipiepy import Kiwi

_lock = threading.Lock()
_analyzer: Kiwi | None = None


@contextmanager
def kiwi() -> Iterator[Kiwi]:
    """The shared analyzer, loaded if needed, held exclusively for the ``with`` block."""
    global _analyzer  # one per process: see the module docstring
    with _lock:
        if _analyzer is None:
            from kiwipiepy import Kiwi

            _analyzer = Kiwi()
        yield _analyzer


@cache
def preload() -> None:
    """Start loading the analyzer on a background thread, once per process."""
    threading.Thread(target=_load, name="kiwi-preload", daemon=True).start()


def _load() -> None:
    with kiwi():
        pass

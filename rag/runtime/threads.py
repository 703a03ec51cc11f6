"""Run small, latency-bound work on one thread.

A single query (one embedding, one FAISS search) is too small to split: on a 2-core machine
shared with other work, two OpenMP threads mostly wait for each other (measured: e5-small
170-700 ms per query on two torch threads, ~60 ms on one; FAISS 16 vs 34 ms for 100k vectors).
Batches (ingestion, index builds) keep every thread, so the limit is scoped to a ``with`` block
and restored after it.

threadpoolctl limits every OpenMP and BLAS runtime loaded in the process (torch and FAISS each
bring their own libgomp). Finding those runtimes costs about 0.8 ms, so the controller is kept
and only rebuilt when torch or FAISS has been imported since it was made.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from threadpoolctl import ThreadpoolController

_POOLED_LIBRARIES = ("torch", "faiss")
_controller: tuple[tuple[bool, ...], ThreadpoolController] | None = None


def _current_controller() -> ThreadpoolController:
    global _controller  # a process-wide cache: see the module docstring
    loaded = tuple(name in sys.modules for name in _POOLED_LIBRARIES)
    if _controller is None or _controller[0] != loaded:
        _controller = (loaded, ThreadpoolController())
    return _controller[1]


@contextmanager
def single_thread() -> Iterator[None]:
    """Limit every thread pool in the process to one thread for the ``with`` block."""
    with _current_controller().limit(limits=1):
        yield

"""Stopping work that nobody waits for any more, at its next step.

A server runs a request's work on a thread, which cannot be killed: when the client leaves or
its time is up, the server answers at once, but the thread would go on tokenizing, embedding
and searching for minutes, holding its slot and the CPU. So long work checks a cancel event
between its steps (a chain's stages, a conversation's messages, an embedding's batches) and
stops there with :class:`Cancelled`. The event travels in a context variable
(:func:`cancellable`), so the layers in between (LangChain's runnables, the retriever, the
prompt budget) need no extra argument: LangChain copies the context into every step, on
whatever thread it runs.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_EVENT: ContextVar[threading.Event | None] = ContextVar("bllossom_rag_cancel", default=None)


class Cancelled(Exception):
    """Whoever asked for the work gave up on it (its client left, or its time ran out)."""


@contextmanager
def cancellable(event: threading.Event) -> Iterator[None]:
    """Work done inside (on this thread, and in the steps it starts) stops once ``event`` is set."""
    token = _EVENT.set(event)
    try:
        yield
    finally:
        _EVENT.reset(token)


def stop_if_cancelled(event: threading.Event | None = None) -> None:
    """Raise :class:`Cancelled` if ``event`` (default: the context's, if any) is set.

    Raises:
        Cancelled: The work was given up.

    """
    current = event if event is not None else _EVENT.get()
    if current is not None and current.is_set():
        raise Cancelled

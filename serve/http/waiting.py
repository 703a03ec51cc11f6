"""Waiting on work while the client may leave and the request's deadline runs.

Every wait of a request (for a slot, for a retrieval, for the prompt's encoding, for the next
token) must end as soon as its client disconnects or its time is up, whichever comes first.
The client's departure is watched by one task per request (:func:`wait_for_disconnect`), and
the deadline is one monotonic instant, so each wait is a race of the work against those two.
Work on a thread (:func:`on_thread`) is then told to stop, and stops at its next step.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect
from starlette.types import Receive

from rag.runtime.cancel import cancellable

T = TypeVar("T")


async def wait_for_disconnect(receive: Receive) -> None:
    """Return when the client disconnects (the body has been read by then)."""
    while (await receive())["type"] != "http.disconnect":
        pass


async def unless_gone(work: Awaitable[T], watcher: asyncio.Future[None], deadline: float) -> T:
    """Await ``work`` unless the client leaves or the deadline passes (then it is cancelled).

    Raises:
        TimeoutError: The deadline passed first.
        ClientDisconnect: The client left first.

    """
    task = asyncio.ensure_future(work)
    first = await race(task, watcher, deadline)
    if first == "done":
        return task.result()
    task.cancel()
    await asyncio.wait({task})
    if not task.cancelled() and task.exception() is None:
        return task.result()  # it finished just before the cancel: keep what it got (a slot)
    if first == "gone":
        raise ClientDisconnect
    raise TimeoutError


async def race(
    work: asyncio.Future[Any], watcher: asyncio.Future[None], deadline: float
) -> Literal["done", "gone", "late"]:
    """Wait for ``work`` until the client leaves or the deadline passes; say which came first."""
    done, _ = await asyncio.wait(
        {work, watcher},
        timeout=max(deadline - time.monotonic(), 0.0),
        return_when=asyncio.FIRST_COMPLETED,
    )
    if work in done:
        return "done"
    return "gone" if watcher in done else "late"


async def on_thread(
    work: Callable[[threading.Event], T],
    watcher: asyncio.Future[None],
    deadline: float,
    *,
    on_end: Callable[[bool], None],
) -> T:
    """Run ``work(cancel)`` on a thread until it ends, the client leaves or the deadline passes.

    A thread cannot be killed. When the client leaves or the time is up, the request is
    answered at once and ``cancel`` is set; the work sees it at its next step (it is also the
    thread's :func:`~rag.runtime.cancel.cancellable` event) and stops. ``on_end`` runs on the
    event loop once the thread has really ended, told whether the request gave up on it: a
    slot given back there keeps the concurrency limit true to the work the machine is doing.

    Raises:
        TimeoutError: The deadline passed first.
        ClientDisconnect: The client left first.

    """
    cancel = threading.Event()

    def run() -> T:
        with cancellable(cancel):
            return work(cancel)

    task = asyncio.ensure_future(run_in_threadpool(run))

    def ended(done: asyncio.Future[T]) -> None:
        if not done.cancelled():
            done.exception()  # retrieved: an abandoned thread's error has no other reader
        on_end(cancel.is_set())

    task.add_done_callback(ended)
    first = await race(task, watcher, deadline)
    if first == "done":
        return task.result()
    cancel.set()
    if first == "gone":
        raise ClientDisconnect
    raise TimeoutError

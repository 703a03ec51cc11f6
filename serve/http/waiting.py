"""Waiting on work while the client may leave and the request's deadline runs.

Every wait of a chat request (for a slot, for the prompt's encoding, for the next token) must
end as soon as its client disconnects or its time is up, whichever comes first. The client's
departure is watched by one task per request (:func:`wait_for_disconnect`), and the deadline is
one monotonic instant, so each wait is a race of the work against those two.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import Any, Literal, TypeVar

from starlette.requests import ClientDisconnect
from starlette.types import Receive

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

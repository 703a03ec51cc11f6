"""Admission control: a concurrency limit with a bounded queue in front of it.

A GPU serves a few generations at a time; past that, requests wait. An unbounded wait turns a
burst into minutes of latency for everyone and memory held by requests whose clients have long
given up, so the queue has a fixed length and a request that finds it full is refused at once
(429 with ``Retry-After``) rather than accepted and starved. Waiting is first come, first served
(asyncio's semaphore is FIFO), and a waiter that gives up (timeout, disconnect) leaves the queue.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from serve.http.protocol import RequestError
from serve.http.waiting import unless_gone


class QueueFullError(Exception):
    """Every slot is busy and the queue is full."""


@dataclass
class Admission:
    """Slots for running generations and a bounded queue of waiting requests.

    Args:
        max_concurrency: Generations that may run at the same time.
        max_queue: Requests that may wait for a slot.

    """

    max_concurrency: int
    max_queue: int
    running: int = 0
    waiting: int = 0

    def __post_init__(self) -> None:
        self._slots = asyncio.Semaphore(self.max_concurrency)

    async def acquire(self) -> None:
        """Take a slot, waiting in the queue if needed.

        Raises:
            QueueFullError: At once, when all slots are taken and the queue is full.

        """
        if self.running + self.waiting >= self.max_concurrency + self.max_queue:
            raise QueueFullError
        self.waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self.waiting -= 1
        self.running += 1

    async def admit(
        self,
        watcher: asyncio.Future[None],
        deadline: float,
        *,
        timeout: float,
        server: str,
        work: str = "generation",
    ) -> None:
        """:meth:`acquire` for one request, while its client is there and before its deadline.

        Args:
            watcher: Done when the client disconnects (:func:`~serve.http.waiting.unless_gone`).
            deadline: The request's monotonic deadline.
            timeout: The request timeout in seconds, for the message.
            server: What is busy, for the message ("worker", "RAG API").
            work: What a slot runs, for the message ("generation", "embedding").

        Raises:
            RequestError: 429 at once when the queue is full, 503 when no slot came in time.
            ClientDisconnect: The client left while waiting.

        """
        try:
            await unless_gone(self.acquire(), watcher, deadline)
        except QueueFullError:
            msg = (
                f"the {server} is busy: {self.running} {work}s running and "
                f"{self.waiting} waiting (the queue holds {self.max_queue}); retry shortly"
            )
            raise RequestError(
                429, msg, kind="rate_limit_error", code="queue_full", headers={"Retry-After": "1"}
            ) from None
        except TimeoutError:
            msg = f"no free {work} slot within the {timeout:g} s request timeout"
            raise RequestError(
                503, msg, kind="server_error", code="timeout", headers={"Retry-After": "5"}
            ) from None

    def release(self) -> None:
        """Give a slot back (when its generation has really ended, not when its client left)."""
        self.running -= 1
        self._slots.release()

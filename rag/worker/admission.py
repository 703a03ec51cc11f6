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

    def release(self) -> None:
        """Give a slot back (when its generation has really ended, not when its client left)."""
        self.running -= 1
        self._slots.release()

"""Admission control: a concurrency limit with a bounded queue in front of it, fair between keys.

A GPU serves a few generations at a time; past that, requests wait. An unbounded wait turns a
burst into minutes of latency for everyone and memory held by requests whose clients have long
given up, so the queue has a fixed length and a request that finds it full is refused at once
(429 with ``Retry-After``) rather than accepted and starved. A waiter that gives up (timeout,
disconnect) leaves the queue.

Where callers are told apart by their keys (the RAG API), one key must not be able to take
every slot and every place in the queue and so starve the others: a key holds at most
``max_per_key`` slots at once (its other requests wait, even while a slot is free, so that slot
stays open to the next key), and at most half the queue's places; a free slot goes to the
waiting request whose key holds the fewest slots, first come first served among equals. Without
a per-key limit (the worker, whose callers are the assistant's own servers) it is plain first
come, first served.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field

from rag.text.display import plural
from serve.http.protocol import RequestError
from serve.http.waiting import unless_gone


class QueueFullError(Exception):
    """Every slot is busy and the queue is full, or the key has its share of both."""

    def __init__(self, *, key_share: bool) -> None:
        super().__init__()
        self.key_share = key_share


@dataclass
class Slot:
    """One admitted request's slot; given back once, when its work has really ended."""

    admission: Admission
    key: str
    released: bool = False

    def release(self) -> None:
        """Give the slot back (a second call does nothing)."""
        if not self.released:
            self.released = True
            self.admission._give_back(self.key)


@dataclass
class Admission:
    """Slots for running work and a bounded queue of waiting requests.

    Args:
        max_concurrency: Requests that may run at the same time.
        max_queue: Requests that may wait for a slot.
        max_per_key: Slots one key may hold at once (and it may wait for at most half the
            queue); None: no per-key limit.

    """

    max_concurrency: int
    max_queue: int
    max_per_key: int | None = None
    running: int = 0
    waiting: int = 0
    _held: Counter[str] = field(default_factory=Counter, repr=False)
    _queued: Counter[str] = field(default_factory=Counter, repr=False)
    _waiters: list[tuple[str, asyncio.Future[None]]] = field(default_factory=list, repr=False)

    @property
    def key_queue(self) -> int:
        """Places in the queue one key may take (half of them, at least one)."""
        return max(1, -(-self.max_queue // 2))

    async def acquire(self, key: str = "") -> Slot:
        """Take a slot, waiting in the queue if needed.

        Raises:
            QueueFullError: At once, when the queue is full, or this key has its share.

        """
        if self.running + self.waiting >= self.max_concurrency + self.max_queue:
            raise QueueFullError(key_share=False)
        if self.max_per_key is not None and self._queued[key] >= self.key_queue:
            raise QueueFullError(key_share=True)
        granted = asyncio.get_running_loop().create_future()
        self._waiters.append((key, granted))
        self._queued[key] += 1
        self.waiting += 1
        self._grant()
        try:
            await granted
        except BaseException:
            if granted.done() and not granted.cancelled():
                self._give_back(key)  # granted as it gave up: the slot goes to the next
            else:
                self._leave(key, granted)
            raise
        return Slot(self, key)

    async def admit(
        self,
        watcher: asyncio.Future[None],
        deadline: float,
        *,
        timeout: float,
        server: str,
        work: str = "generation",
        key: str = "",
    ) -> Slot:
        """:meth:`acquire` for one request, while its client is there and before its deadline.

        Args:
            watcher: Done when the client disconnects (:func:`~serve.http.waiting.unless_gone`).
            deadline: The request's monotonic deadline.
            timeout: The request timeout in seconds, for the message.
            server: What is busy, for the message ("worker", "RAG API").
            work: What a slot runs, for the message ("generation", "embedding", "request").
            key: Who asks (the caller's key name), when slots are shared fairly between keys.

        Raises:
            RequestError: 429 at once when the queue (or the key's share) is full, 503 when no
                slot came in time.
            ClientDisconnect: The client left while waiting.

        """
        try:
            return await unless_gone(self.acquire(key), watcher, deadline)
        except QueueFullError as full:
            if full.key_share:
                msg = (
                    f"this key is using its share of the {server}: "
                    f"{plural(self._held[key], work)} running and {self._queued[key]} waiting "
                    f"(one key may wait for {self.key_queue} of the {self.max_queue} places of "
                    "server.max_queue); retry when one has ended"
                )
            else:
                msg = (
                    f"the {server} is busy: {plural(self.running, work)} running and "
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

    def _grant(self) -> None:
        """Hand free slots to waiters: the fewest-held key first, first come among equals."""
        while self.running < self.max_concurrency:
            open_to = [
                (self._held[key], order, key, granted)
                for order, (key, granted) in enumerate(self._waiters)
                if self.max_per_key is None or self._held[key] < self.max_per_key
            ]
            if not open_to:
                return
            _, _, key, granted = min(open_to, key=lambda waiter: waiter[:2])
            self._leave(key, granted)
            self._held[key] += 1
            self.running += 1
            granted.set_result(None)

    def _leave(self, key: str, granted: asyncio.Future[None]) -> None:
        self._waiters.remove((key, granted))
        self._queued[key] -= 1
        self.waiting -= 1

    def _give_back(self, key: str) -> None:
        self._held[key] -= 1
        self.running -= 1
        self._grant()

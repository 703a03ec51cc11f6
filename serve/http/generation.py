"""One request's generation on its own thread, read from the event loop as async events.

A generation is a blocking iterator of chunks (``ChatBllossom.stream_prompt`` is, since
transformers' ``generate`` is; so is the RAG API's chain), so each request runs it on a thread
and hands every chunk to the loop through an ``asyncio.Queue``. Stopping is cooperative and
cheap: the iterator gets a cancel event, and setting it makes ``generate`` return after the
current token; the event is also the thread's :func:`~rag.runtime.cancel.cancellable` one, so a
chain stops between its stages (retrieval, the prompt) and inside their loops. The slot is
released when the thread has really finished (``on_end``), never when the client leaves, so
the concurrency limit always matches the work the GPU is doing.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Iterator

from langchain_core.outputs import ChatGenerationChunk

from rag.errors import GPUOutOfMemoryError
from rag.runtime.cancel import Cancelled, cancellable
from serve.http.protocol import RequestError


class _End:
    """Marks the end of a generation's events."""


END = _End()
Event = ChatGenerationChunk | BaseException | _End
# Starts generating on the calling thread; stops at the next token once the event is set. A
# chunk with ``usage_metadata`` (the last one) reports the tokens and the finish reason.
Produce = Callable[[threading.Event], Iterator[ChatGenerationChunk]]


class Generation:
    """A generation running on a thread.

    Args:
        produce: The chunks, given the cancel event (e.g. ``ChatBllossom.stream_prompt``).
        prompt_tokens: The prompt's length, until a chunk reports the usage.
        on_end: Called on the event loop once the thread has finished.

    """

    def __init__(
        self,
        produce: Produce,
        *,
        prompt_tokens: int = 0,
        on_end: Callable[[Generation], None],
    ) -> None:
        self.produce = produce
        self.on_end = on_end
        self.loop = asyncio.get_running_loop()
        self.cancel = threading.Event()
        self.cancel_reason: str | None = None
        self.error: BaseException | None = None
        self.usage: dict[str, int] = {"input_tokens": prompt_tokens, "output_tokens": 0}
        self.finish_reason = "stop"
        self.started = time.monotonic()
        self.first_token_seconds: float | None = None
        self.ended = False
        self._events: asyncio.Queue[Event] = asyncio.Queue()
        self._thread = threading.Thread(target=self._run, name="bllossom-request", daemon=True)

    def start(self) -> None:
        """Start generating."""
        self._thread.start()

    def stop(self, reason: str) -> None:
        """Stop at the next token; ``reason`` (``cancelled``, ``timeout``) is its outcome."""
        if not self.ended and self.cancel_reason is None:
            self.cancel_reason = reason
            self.cancel.set()

    async def next(self, timeout: float) -> Event:
        """The next chunk, the error that ended generation, or :data:`END`.

        Raises:
            TimeoutError: Nothing arrived within ``timeout`` seconds.

        """
        try:
            return await asyncio.wait_for(self._events.get(), max(timeout, 0.0))
        except asyncio.TimeoutError:  # an alias of TimeoutError only from Python 3.11
            raise TimeoutError from None

    async def next_before(self, deadline: float, timeout: float) -> Event:
        """:meth:`next` until the request's ``deadline``; past it, generation stops.

        Raises:
            RequestError: 504 once the request has run longer than ``timeout`` seconds.

        """
        try:
            return await self.next(deadline - time.monotonic())
        except TimeoutError:
            self.stop("timeout")
            msg = f"the request took longer than the {timeout:g} s timeout"
            raise RequestError(504, msg, kind="server_error", code="timeout") from None

    @property
    def outcome(self) -> str:
        """How it ended: completed, cancelled, timeout, out_of_memory or error."""
        if isinstance(self.error, GPUOutOfMemoryError):
            return "out_of_memory"
        if self.error is not None:
            return "error"
        return self.cancel_reason or "completed"

    @property
    def seconds(self) -> float:
        """Time since the generation was created."""
        return time.monotonic() - self.started

    def _run(self) -> None:
        try:
            with cancellable(self.cancel):  # work between tokens stops at its next step too
                for chunk in self.produce(self.cancel):
                    message = chunk.message
                    if message.content and self.first_token_seconds is None:
                        self.first_token_seconds = self.seconds
                    usage = getattr(message, "usage_metadata", None)
                    if usage:
                        self.usage = dict(usage)
                        self.finish_reason = message.response_metadata.get("finish_reason", "stop")
                    self._emit(chunk)
        except Cancelled:
            pass  # stopped as asked, between two steps: its outcome is the cancel's reason
        except BaseException as error:  # reported to the request, never kills the worker
            self.error = error
            self._emit(error)
        finally:
            self._emit(END)

    def _emit(self, event: Event) -> None:
        def deliver() -> None:
            if event is END:
                self.ended = True
                self.on_end(self)
            self._events.put_nowait(event)

        with contextlib.suppress(RuntimeError):  # a closed loop: the server is shutting down
            self.loop.call_soon_threadsafe(deliver)

"""What every server that runs generations shares: a queue, its generations, readiness, an app.

The GPU worker and the RAG API differ in what a request becomes (an encoded prompt for the
model; a retrieval and a prompt for the chain) but not in how it is served: one admission
queue, the set of running generations (stopped together at shutdown), readiness that loads on
a thread at startup, a request wrapper that turns a refusal into its OpenAI error and a
vanished client into a 499, and the rule that a slot is held from admission until the
generation's thread has ended. :class:`GenerationService` is that part; each server subclasses
it with its routes, and :func:`service_app` builds the Starlette app around one.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.routing import Route

from serve.http.admission import Admission, Slot
from serve.http.generation import Generation, Produce
from serve.http.protocol import RequestError
from serve.http.readiness import Readiness


class GenerationService:
    """The queue, the running generations and readiness of one server.

    Args:
        max_concurrency: Generations that may run at the same time.
        max_queue: Requests that may wait for a slot.
        log: Where load failures and failed generations are logged.
        max_per_key: Slots one key may hold at once (:class:`~serve.http.admission.Admission`);
            None: no per-key limit.

    """

    def __init__(
        self,
        max_concurrency: int,
        max_queue: int,
        log: logging.Logger,
        max_per_key: int | None = None,
    ) -> None:
        self.admission = Admission(max_concurrency, max_queue, max_per_key)
        self.readiness = Readiness(log)
        self.active: dict[Generation, Slot] = {}
        self.log = log

    def load(self) -> None:
        """Load the models (on a thread at startup; see :attr:`readiness`)."""
        raise NotImplementedError

    def stop_all(self) -> None:
        """Stop every running generation (server shutdown)."""
        for generation in list(self.active):
            generation.stop("cancelled")

    @staticmethod
    async def answer(handle: Callable[[], Awaitable[Response]]) -> Response:
        """Run a request's handler; a refusal is its OpenAI error, a gone client a 499."""
        try:
            return await handle()
        except RequestError as error:
            return error.response()
        except ClientDisconnect:
            return Response(status_code=499)  # nobody reads it

    def launch(
        self,
        produce: Produce,
        watcher: asyncio.Future[None],
        slot: Slot,
        *,
        prompt_tokens: int = 0,
    ) -> Generation:
        """Start a generation in the slot this request holds (given back when it ends).

        The client's departure (``watcher``) stops it; if it cannot even be created, the slot
        and the watcher are let go here.
        """
        try:
            generation = Generation(produce, prompt_tokens=prompt_tokens, on_end=self.ended)
        except BaseException:
            slot.release()
            watcher.cancel()
            raise
        self.active[generation] = slot
        generation.start()
        watcher.add_done_callback(lambda _: generation.stop("cancelled"))
        return generation

    def ended(self, generation: Generation) -> None:
        """A generation's thread has finished: its slot is free (extend to count it)."""
        self.active.pop(generation).release()
        if generation.outcome in ("error", "out_of_memory"):
            self.log.error("generation failed: %r", generation.error)


def service_app(
    service: GenerationService,
    routes: Sequence[Route],
    middleware: Sequence[Middleware],
    *,
    read_timeout: float,
) -> Starlette:
    """The Starlette app serving ``routes`` for ``service``, its models loading at startup.

    ``app.state.read_timeout`` is what :mod:`serve.http.server`'s connections allow a client
    for its request headers.
    """

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        threading.Thread(target=service.load, name="bllossom-load", daemon=True).start()
        yield
        service.stop_all()

    app = Starlette(routes=list(routes), middleware=list(middleware), lifespan=lifespan)
    app.state.service = service
    app.state.read_timeout = read_timeout
    return app

"""A generation's events as OpenAI responses: server-sent events, or one whole completion.

The first event is read before a response is chosen (:func:`respond`), so a generation that
cannot start (out of memory, timeout) is a proper 503/504 rather than a broken 200, and both
forms start from it. Once a stream's 200 has been sent, an error can no longer change the
status: it goes out as an OpenAI error object in its own event, which the official clients
raise, and the stream ends there. However a response ends (done, failed, client gone), its
generation is stopped and its disconnect watcher cancelled.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from langchain_core.outputs import ChatGenerationChunk
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from rag.errors import BllossomRagError, GPUOutOfMemoryError
from serve.http.generation import Event, Generation
from serve.http.protocol import ChatCompletionRequest, CompletionIds, RequestError

# The next event of a generation, or RequestError (504) once the request's time is up.
NextEvent = Callable[[], Awaitable[Event]]


def sse(data: dict[str, Any] | str) -> bytes:
    """One server-sent event."""
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return f"data: {text}\n\n".encode()


async def respond(
    generation: Generation,
    parsed: ChatCompletionRequest,
    ids: CompletionIds,
    watcher: asyncio.Future[None],
    deadline: float,
    timeout: float,
    *,
    extra: Callable[[], dict[str, Any]] = dict,
    closing: Callable[[], dict[str, Any]] = dict,
) -> Response:
    """The response to a started generation, decided by its first event.

    Args:
        generation: Started; stopped here if the response cannot be made.
        parsed: The request (``stream``, ``stream_options``).
        ids: The completion's id, time and model name.
        watcher: Done when the client disconnects; cancelled once the response has ended.
        deadline: The request's monotonic deadline.
        timeout: The request timeout in seconds, for the 504's message.
        extra: Top-level fields for the body or the first chunk (the RAG API's ``sources``),
            read once the first event is in.
        closing: Top-level fields for the body or the chunk with the finish reason (the RAG
            API's ``support``), read once the generation has ended.

    Raises:
        RequestError: Generation failed before its first token, or ran out of time.

    """

    async def next_event() -> Event:
        return await generation.next_before(deadline, timeout)

    try:
        first = await next_event()
        if isinstance(first, BaseException):
            raise failure(first)
        if parsed.stream:
            include_usage = bool(parsed.stream_options and parsed.stream_options.include_usage)
            events = stream_events(
                generation,
                first,
                ids,
                next_event,
                include_usage=include_usage,
                extra=extra(),
                closing=closing,
            )
            return EventStream(_until_done(events, generation, watcher))
        body = {**await complete(generation, first, ids, next_event), **extra(), **closing()}
        if watcher.done() and not watcher.cancelled():
            return Response(status_code=499)  # the client left; counted as such
        return JSONResponse(body)
    except BaseException:
        generation.stop("cancelled")
        watcher.cancel()
        raise
    finally:
        if not parsed.stream:
            watcher.cancel()


async def _until_done(
    events: AsyncIterator[bytes], generation: Generation, watcher: asyncio.Future[None]
) -> AsyncIterator[bytes]:
    """The stream's events; however it ends, its generation and watcher end with it."""
    try:
        async for event in events:
            yield event
    finally:
        generation.stop("cancelled")  # a no-op once it has ended
        watcher.cancel()


async def stream_events(
    generation: Generation,
    first: Event,
    ids: CompletionIds,
    next_event: NextEvent,
    *,
    include_usage: bool,
    extra: dict[str, Any] | None = None,
    closing: Callable[[], dict[str, Any]] = dict,
) -> AsyncIterator[bytes]:
    """``chat.completion.chunk`` events from the first event to ``[DONE]`` (or an error).

    ``extra`` fields go into the first chunk (the one with the assistant's role) only;
    ``closing()`` fields into the one with the finish reason, read when generation has ended.
    """
    event = first
    yield sse({**ids.chunk({"role": "assistant", "content": ""}), **(extra or {})})
    while isinstance(event, ChatGenerationChunk):
        if event.message.content:
            yield sse(ids.chunk({"content": str(event.message.content)}))
        try:
            event = await next_event()
        except RequestError as error:  # the timeout, once the stream has begun
            yield sse(error.payload())
            return
    if isinstance(event, BaseException):
        yield sse(failure(event).payload())
        return
    yield sse({**ids.chunk({}, generation.finish_reason), **closing()})
    if include_usage:
        yield sse(ids.usage_chunk(usage(generation)))
    yield sse("[DONE]")


async def complete(
    generation: Generation, first: Event, ids: CompletionIds, next_event: NextEvent
) -> dict[str, Any]:
    """The whole ``chat.completion`` body, once generation has ended.

    Raises:
        RequestError: Generation failed or the request ran out of time.

    """
    text: list[str] = []
    event = first
    while isinstance(event, ChatGenerationChunk):
        text.append(str(event.message.content))
        event = await next_event()
    if isinstance(event, BaseException):
        raise failure(event)
    return ids.completion("".join(text), generation.finish_reason, usage(generation))


class EventStream(Response):
    """A ``text/event-stream`` response that tolerates a vanished client.

    Starlette's ``StreamingResponse`` also watches for disconnects, but only on some ASGI
    versions; the worker watches itself (for queued requests too), so this one only sends.
    """

    media_type = "text/event-stream"

    def __init__(self, events: AsyncIterator[bytes]) -> None:
        self.events = events
        self.status_code = 200
        self.background = None
        self.init_headers({"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the events as they come."""
        aclose = getattr(self.events, "aclose", None)
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            async for chunk in self.events:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            pass  # the client left (ASGI 2.4 servers raise on send); its generation is stopping
        finally:
            if aclose is not None:
                await aclose()


def failure(error: BaseException) -> RequestError:
    """The HTTP answer for an error that ended a generation."""
    if isinstance(error, GPUOutOfMemoryError):
        return RequestError(
            503,
            str(error),
            kind="server_error",
            code="out_of_memory",
            headers={"Retry-After": "5"},
        )
    if isinstance(error, BllossomRagError):
        return RequestError(400, str(error))
    return RequestError(
        500, f"generation failed: {type(error).__name__}: {error}", kind="server_error"
    )


def usage(generation: Generation) -> dict[str, int]:
    """OpenAI's ``usage`` object for a generation."""
    prompt = generation.usage.get("input_tokens", 0)
    completion = generation.usage.get("output_tokens", 0)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }

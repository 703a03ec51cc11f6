"""What every request passes through before a route does any work: the key, the count, the body.

Both middlewares are plain ASGI callables rather than Starlette's ``BaseHTTPMiddleware``, which
buffers streaming responses and runs the app in a separate task: the key check must refuse
before a byte of the body is read, and the count must see the status of a stream without
touching its events; an exception that escapes a route still counts, as the 500 it becomes.
The body is read by the route itself (:func:`read_body`), so the size and time limits are
enforced while it arrives instead of after it has all been buffered.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rag.access.keys import KeyRing
from serve.http.metrics import Metrics
from serve.http.protocol import RequestError

# Sent with a refusal while the client may still be sending: the rest is never read.
_CLOSE = {"Connection": "close"}


class RequireAPIKey:
    """ASGI middleware: every route but ``/health`` needs ``Authorization: Bearer <key>``.

    The key ring (:class:`~rag.access.keys.KeyRing`) decides: configured keys are compared in
    constant time, the store's are looked up by hash (on a thread: it may be a database round
    trip), a revoked one is refused on its next request. Who the key belongs to is left in
    the request's state as ``caller`` (its name and groups) for the routes and the audit trail.
    A request without a key gets through only while the server has no key at all.
    """

    def __init__(self, app: ASGIApp, keyring: KeyRing) -> None:
        self.app = app
        self.keyring = keyring

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse with 401 before any work is done."""
        if scope["type"] == "http" and scope["path"] != "/health":
            scheme, _, token = Headers(scope=scope).get("authorization", "").partition(" ")
            sent = token.strip() if scheme.lower() == "bearer" else ("" if not scheme else None)
            caller = None if sent is None else await run_in_threadpool(self.keyring.caller, sent)
            if caller is None:
                refusal = RequestError(
                    401,
                    "missing or wrong API key: send the header 'Authorization: Bearer <key>'",
                    kind="authentication_error",
                    code="invalid_api_key",
                )
                await refusal.response()(scope, receive, send)
                return
            scope.setdefault("state", {})["caller"] = caller
        await self.app(scope, receive, send)


class CountRequests:
    """ASGI middleware: count every answer by route and status.

    Args:
        app: The application.
        metrics: Where the counts go.
        routes: Paths counted by name; any other path is counted as ``other``.

    """

    def __init__(self, app: ASGIApp, metrics: Metrics, routes: Collection[str]) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass through, noting the status."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = scope["path"] if scope["path"] in self.routes else "other"
        started = False

        async def counting_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                self.metrics.request(route, int(message["status"]))
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        except Exception:
            # Starlette's outermost middleware turns the exception into a 500 after this one.
            if not started:
                self.metrics.request(route, 500)
            raise


async def read_body(request: Request, limit: int, timeout: float, server: str = "worker") -> bytes:
    """The request body, refused as soon as it passes ``limit`` bytes or ``timeout`` seconds.

    A client that trickles its body a byte at a time would otherwise hold a connection (and
    the memory of what it sent) for as long as it likes; the clock runs from the end of the
    headers, whose own deadline the server keeps (:mod:`serve.http.server`). ``server`` names
    what refuses, in the messages.

    Raises:
        RequestError: 413 over the size limit, 408 past the time limit; both close the
            connection, so the rest of the body is never read.
        ClientDisconnect: The client left while sending.

    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(int(declared), limit, server)
    deadline = time.monotonic() + timeout
    pieces = request.stream()
    body = bytearray()
    while True:
        try:
            piece = await asyncio.wait_for(anext(pieces), deadline - time.monotonic())
        except StopAsyncIteration:
            return bytes(body)
        except asyncio.TimeoutError:  # an alias of TimeoutError only from Python 3.11
            msg = (
                f"the request body did not arrive within {timeout:g} s "
                f"({len(body):,} bytes had); send it faster"
            )
            raise RequestError(408, msg, code="request_timeout", headers=_CLOSE) from None
        body += piece
        if len(body) > limit:
            raise _too_large(len(body), limit, server)


def _too_large(size: int, limit: int, server: str) -> RequestError:
    msg = f"request body of {size:,} bytes is over this {server}'s {limit:,}-byte limit"
    return RequestError(413, msg, code="request_too_large", headers=_CLOSE)

"""What every request passes through before a route does any work: the key, the count, the body.

Both middlewares are plain ASGI callables rather than Starlette's ``BaseHTTPMiddleware``, which
buffers streaming responses and runs the app in a separate task: the key check must refuse
before a byte of the body is read, and the count must see the status of a stream without
touching its events. The body is read by the route itself (:func:`read_body`), so the size
limit is enforced while it arrives instead of after it has all been buffered.
"""

from __future__ import annotations

import hmac
from collections.abc import Collection

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rag.worker.metrics import Metrics
from rag.worker.protocol import RequestError


class RequireAPIKey:
    """ASGI middleware: every route but ``/health`` needs ``Authorization: Bearer <key>``."""

    def __init__(self, app: ASGIApp, key: str | None) -> None:
        self.app = app
        self.key = key.encode() if key else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse with 401 before any work is done."""
        if self.key is not None and scope["type"] == "http" and scope["path"] != "/health":
            scheme, _, token = Headers(scope=scope).get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), self.key):
                refusal = RequestError(
                    401,
                    "missing or wrong API key: send the header 'Authorization: Bearer <key>'",
                    kind="authentication_error",
                    code="invalid_api_key",
                )
                await refusal.response()(scope, receive, send)
                return
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

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.metrics.request(route, int(message["status"]))
            await send(message)

        await self.app(scope, receive, counting_send)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(int(declared), limit)
    body = bytearray()
    async for piece in request.stream():
        body += piece
        if len(body) > limit:
            raise _too_large(len(body), limit)
    return bytes(body)


def _too_large(size: int, limit: int) -> RequestError:
    msg = f"request body of {size:,} bytes is over this worker's {limit:,}-byte limit"
    return RequestError(413, msg, code="request_too_large")

"""Running the worker: in the foreground for ``bllossom-rag serve``, or on a thread.

The thread form binds its socket before starting, so a caller (a test, a benchmark, a notebook)
knows the port at once and can use port 0 to get a free one, and it waits until uvicorn is
accepting connections before returning. Both forms run the same application and server.

uvicorn has a keep-alive timeout but no deadline for a request's headers: a client that sends
one header byte a second holds its connection forever, and a few hundred such clients hold the
server. The application cannot help (it is called once the headers are complete), so the
connection itself keeps the deadline: :class:`HeaderDeadline` is uvicorn's h11 protocol with a
timer from the connection's start (or the previous response's end) to the end of the headers,
``server.read_timeout`` long; the body then has the same time again
(:func:`~serve.http.middleware.read_body`). h11 is used whether or not httptools is installed,
so the deadline never depends on what is.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from types import TracebackType

import h11
import uvicorn
from starlette.applications import Starlette
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("bllossom_rag.worker")


class HeaderDeadline(H11Protocol):
    """uvicorn's h11 connection, closed when a request's headers take too long to arrive."""

    read_timeout: float = 60.0  # set per server by :func:`_protocol`
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the clock for the first request's headers."""
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        """Stop the clock once the headers are in (h11 has left its idle state)."""
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._disarm()

    def on_response_complete(self) -> None:
        """Start the clock again for the next request on this connection."""
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the clock."""
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.read_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        # No response: h11 cannot answer a request it has not parsed, and a slow client
        # deserves no more of the server's time.
        if not self.transport.is_closing():
            log.warning(
                "closed a connection from %s: no complete request headers within %g s",
                self.client,
                self.read_timeout,
            )
            self.transport.close()


def _protocol(app: Starlette) -> type[HeaderDeadline]:
    """The connection class for an app, with its ``read_timeout`` (``app.state``)."""
    timeout = float(app.state.read_timeout)
    return type("Connection", (HeaderDeadline,), {"read_timeout": timeout})


def serve(app: Starlette, host: str, port: int) -> None:
    """Serve until interrupted (Ctrl-C stops generations and exits)."""
    uvicorn.run(
        app,
        host=host,
        port=port,
        http=_protocol(app),
        log_level="info",
        timeout_graceful_shutdown=10,
    )


class BackgroundServer:
    """The worker on a daemon thread; use as a context manager.

    Args:
        app: The worker's (:func:`~serve.worker.app.create_app`) or the RAG API's application;
            ``app.state.read_timeout`` is its read timeout.
        host: Interface to bind.
        port: Port to bind; 0 picks a free one (see :attr:`url`).

    """

    def __init__(self, app: Starlette, host: str = "127.0.0.1", port: int = 0) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind((host, port))
        self.host, self.port = self.socket.getsockname()[:2]
        config = uvicorn.Config(
            app, http=_protocol(app), log_level="warning", timeout_graceful_shutdown=5
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )

    @property
    def url(self) -> str:
        """``http://host:port``."""
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 60.0) -> BackgroundServer:
        """Start and wait until the server accepts connections."""
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                msg = f"the server did not start on {self.url}"
                raise RuntimeError(msg)
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Ask uvicorn to shut down and wait for it."""
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.socket.close()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

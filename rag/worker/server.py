"""Running the worker: in the foreground for ``bllossom-rag serve``, or on a thread.

The thread form binds its socket before starting, so a caller (a test, a benchmark, a notebook)
knows the port at once and can use port 0 to get a free one, and it waits until uvicorn is
accepting connections before returning. Both forms run the same application and server.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

import uvicorn
from starlette.applications import Starlette


def serve(app: Starlette, host: str, port: int) -> None:
    """Serve until interrupted (Ctrl-C stops generations and exits)."""
    uvicorn.run(app, host=host, port=port, log_level="info", timeout_graceful_shutdown=10)


class BackgroundServer:
    """The worker on a daemon thread; use as a context manager.

    Args:
        app: The application from :func:`~rag.worker.app.create_app`.
        host: Interface to bind.
        port: Port to bind; 0 picks a free one (see :attr:`url`).

    """

    def __init__(self, app: Starlette, host: str = "127.0.0.1", port: int = 0) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind((host, port))
        self.host, self.port = self.socket.getsockname()[:2]
        config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=5)
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
                msg = f"the worker did not start on {self.url}"
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

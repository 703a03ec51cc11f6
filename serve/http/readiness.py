"""Whether a server's models have loaded: the state behind ``/health`` and a 503 before it.

A server starts answering at once and loads its models on a thread, so a load balancer can
watch ``/health`` (no key needed) until it says ``ok``. Until then every request that needs the
models is a 503 with ``Retry-After``. A failed load keeps its reason: in the log and in the 503
of a request that passed the key check, never in the public ``/health``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Literal

from serve.http.protocol import RequestError


class Readiness:
    """Loading, ready or failed, for one server.

    Args:
        log: Where a failed load's traceback goes.
        what: What loads, for messages ("the model", "the embedding model").

    """

    def __init__(self, log: logging.Logger, what: str = "the model") -> None:
        self.log = log
        self.what = what
        self.event = threading.Event()
        self.error: str | None = None

    def load(self, load: Callable[[], None]) -> None:
        """Run ``load`` (on the startup thread); any failure is kept, not raised."""
        try:
            load()
        except Exception as error:
            self.error = str(error)
            self.log.exception("could not load %s", self.what)
        else:
            self.event.set()

    @property
    def ready(self) -> bool:
        """Whether the models have loaded."""
        return self.event.is_set()

    @property
    def status(self) -> Literal["ok", "error", "loading"]:
        """``/health``'s status."""
        return "ok" if self.ready else "error" if self.error else "loading"

    def check(self) -> None:
        """Refuse a request that needs the models before they have loaded.

        Raises:
            RequestError: 503 ``model_not_ready`` with the reason (or "still loading").

        """
        if not self.ready:
            raise RequestError(
                503,
                f"{self.what} is not ready ({self.error or 'still loading'}); "
                "retry when GET /health says ready",
                kind="server_error",
                code="model_not_ready",
                headers={"Retry-After": "5"},
            )

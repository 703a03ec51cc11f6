"""Waiting for a state, and finding a free port."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable


def wait_until(check: Callable[[], bool], what: str, limit: float = 120.0) -> None:
    """Poll a state (never a timing assertion: the limit only stops a hung test)."""
    deadline = time.monotonic() + limit
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


def free_port() -> int:
    """A local port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])

"""Waiting for a state, and finding a free port."""

from __future__ import annotations

import time
from collections.abc import Callable

from devkit.served_api import free_port

__all__ = ["free_port", "wait_until"]


def wait_until(check: Callable[[], bool], what: str, limit: float = 120.0) -> None:
    """Poll a state (never a timing assertion: the limit only stops a hung test)."""
    deadline = time.monotonic() + limit
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)

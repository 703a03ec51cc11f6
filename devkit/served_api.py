"""``bllossom-rag api`` started as a user starts it, for tests and benchmarks that need it ready."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

START_TIMEOUT_S = 300


def free_port() -> int:
    """A local port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def served_api(folder: Path, env: Mapping[str, str], port: int | None = None) -> Iterator[str]:
    """The RAG API started in ``folder`` with ``env``, once ``/health`` says ready; its URL.

    Args:
        folder: Where it runs; its output goes to ``api.log`` there, shown if it stops early.
        env: Its environment (its settings as variables).
        port: Where it listens (a free port when None).

    """
    port = port or free_port()
    log_path = folder / "api.log"
    url = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            ["bllossom-rag", "api", "--host", "127.0.0.1", "--port", str(port)],
            cwd=folder,
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while not _ready(url):
                if server.poll() is not None:
                    raise RuntimeError(log_path.read_text())
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the API did not get ready in {START_TIMEOUT_S} s")
                time.sleep(0.2)
            yield url
        finally:
            server.terminate()
            server.wait(timeout=30)


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return bool(json.loads(response.read()).get("ready"))
    except (urllib.error.URLError, OSError, ValueError):
        return False

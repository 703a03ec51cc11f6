"""``bllossom-rag ui`` served headless on a free port, as a user starts it."""

from __future__ import annotations

import subprocess
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from tests.support.waiting import free_port

START_TIMEOUT_S = 120


@contextmanager
def served_ui(folder: Path, env: Mapping[str, str], port: int | None = None) -> Iterator[str]:
    """The app started in ``folder`` (its ``.streamlit/`` applies) with ``env``; its URL.

    Args:
        folder: Where it runs; its output goes to ``ui.log`` there, shown if it stops early.
        env: Its environment.
        port: Where it listens (a free port when None).

    """
    port = port or free_port()
    log_path = folder / "ui.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [
                "bllossom-rag",
                "ui",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--server.headless",
                "true",
                "--server.fileWatcherType",
                "none",
            ],
            cwd=folder,
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while True:
                assert server.poll() is None, log_path.read_text()
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                        if response.read() == b"ok":
                            break
                except OSError:
                    pass
                assert time.monotonic() < deadline, f"the UI did not start in {START_TIMEOUT_S} s"
                time.sleep(0.5)
            yield url
        finally:
            server.terminate()  # bllossom-rag ui exec'd Streamlit: this stops the server itself
            server.wait(timeout=30)

"""Model references: a hub name is cached, reachable, or refused at once (one request, no retry).

A real local HTTP server stands in for the hub (``HF_ENDPOINT``) and counts its connections, so
"fails at once" is shown by construction: offline mode makes no request at all, an unreachable
hub gets exactly one, and neither depends on how long anything takes.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from devkit.models import REPO
from rag.errors import ModelLoadError
from rag.runtime.models import hub_reachable, model_name, model_reference

NEVER_CACHED = "bllossom-rag-tests/never-cached"


class ClosingServer:
    """Accepts connections and closes them at once, counting each: a hub that is down."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.connections = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.socket.getsockname()[1]}"

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            self.connections += 1
            connection.close()

    def close(self) -> None:
        self.socket.close()


@pytest.fixture
def hub_down(monkeypatch: pytest.MonkeyPatch) -> Iterator[ClosingServer]:
    server = ClosingServer()
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    yield server
    server.close()


@pytest.fixture
def hub_up(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """A hub that answers every HEAD request; yields the paths asked for."""
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_HEAD(self) -> None:
            asked.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    yield asked
    server.shutdown()
    server.server_close()


def test_offline_mode_refuses_an_uncached_name_without_any_request(hub_down, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelLoadError) as caught:
        model_reference(NEVER_CACHED, "embedding")
    assert str(caught.value) == (
        f"embedding model {NEVER_CACHED!r} is not in the local Hugging Face cache and "
        "HF_HUB_OFFLINE is set; set embedding.model (BLLOSSOM_RAG_EMBEDDING__MODEL or "
        "bllossom-rag.toml) to a local model folder"
    )
    assert hub_down.connections == 0


def test_unreachable_hub_is_asked_once_then_refused(hub_down):
    with pytest.raises(ModelLoadError, match=r"the hub cannot be reached; set generation\.model"):
        model_reference(NEVER_CACHED, "generator")
    assert hub_down.connections == 1  # one probe, no retry loop


def test_reachable_hub_passes_the_name_to_the_library(hub_up):
    assert hub_reachable()
    assert model_reference(NEVER_CACHED, "reranker") == NEVER_CACHED
    assert hub_up == ["/api/models", "/api/models"]


def test_cached_model_loads_from_its_snapshot_folder_offline(tmp_path: Path):
    """A name in the local cache needs no hub: its snapshot folder is what gets loaded."""
    repo = tmp_path / "hub" / "models--bllossom-rag-tests--cached"
    snapshot = repo / "snapshots" / "0123abcd"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}", encoding="utf-8")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abcd", encoding="utf-8")
    env = {**os.environ, "HF_HUB_CACHE": str(tmp_path / "hub"), "HF_HUB_OFFLINE": "1"}
    code = (
        "from rag.runtime.models import model_reference as r; "
        "print(r('bllossom-rag-tests/cached', 'x'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()) == snapshot


def test_a_path_that_is_no_folder_fails_as_a_path(hub_down, tmp_path: Path):
    for value in (str(tmp_path / "missing"), "./missing", "~/missing", "a/b/c"):
        with pytest.raises(ModelLoadError, match=f"embedding model folder not found: {value}"):
            model_reference(value, "embedding")
    assert hub_down.connections == 0


def test_model_name_records_folders_absolute_and_hub_names_as_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    (tmp_path / "e5").mkdir()
    monkeypatch.chdir(tmp_path)
    assert model_name("e5") == str(tmp_path.resolve() / "e5")
    assert model_name("BAAI/bge-m3") == "BAAI/bge-m3"

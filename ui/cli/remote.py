"""``ask`` and ``chat`` answered by a running RAG API, so the terminal loads no model.

Loading the embedder and the generator is most of a cold ``ask`` (half a minute with
Bllossom-Vision). When a RAG API already holds them, the command sends the question there
(``POST /v1/chat/completions``, streamed; the sources come in the first chunk) and prints what
comes back exactly as an in-process answer is printed. Which API:

- ``[cli] api_url`` when set (with ``[cli] api_key`` if the API wants a key);
- else, with ``[cli] find_api`` on (the default), one running on this machine at ``[api]
  port`` whose ``/health`` says it is ready and serves this same store (its ``store_id``), so a
  terminal never gets answers from another store that happens to listen there;
- else none: the models load in-process as before.

What the API answers with is decided by its key's groups, so ``--user-groups`` (the asker's own
claim) and ``--k`` are answered in-process, and so is anything given ``--local``. The RAG API
puts the answer on the audit trail, under its key's name. ``--json`` has the same shape; the
rendered ``prompt`` stays on the server (``null``).

Only the standard library is used here, so the remote path imports no model code at all.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rag.errors import BllossomRagError

if TYPE_CHECKING:
    from rag.config import Settings

PROBE_TIMEOUT_S = 0.5
ANSWER_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class RemoteApi:
    """A RAG API that answers for this terminal.

    Attributes:
        url: Its base URL (``http://127.0.0.1:8100``).
        key: The bearer key, if it needs one.
        found: True when found running on this machine rather than configured.

    """

    url: str
    key: str | None = None
    found: bool = False

    def answer(self, collection: str, messages: Sequence[Mapping[str, Any]]) -> RemoteAnswer:
        """Ask: iterate the result for the answer's pieces; then read its sources."""
        return RemoteAnswer(self, collection, list(messages))

    def _request(self, path: str, body: Mapping[str, Any] | None = None) -> urllib.request.Request:
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if self.key:
            headers["Authorization"] = f"Bearer {self.key}"
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        return urllib.request.Request(self.url.rstrip("/") + path, data=data, headers=headers)


@dataclass
class RemoteAnswer:
    """One answer streamed from the API (see :meth:`RemoteApi.answer`)."""

    api: RemoteApi
    collection: str
    messages: list[Mapping[str, Any]]
    text: str = ""
    sources: list[dict[str, Any]] = field(default_factory=list)
    prompt_tokens: int | None = None

    def __iter__(self) -> Iterator[str]:
        body = {
            "model": self.collection,
            "messages": self.messages,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        try:
            response = urllib.request.urlopen(
                self.api._request("/v1/chat/completions", body), timeout=ANSWER_TIMEOUT_S
            )
        except urllib.error.HTTPError as error:
            raise BllossomRagError(self._refusal(error.code, error.read())) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            msg = (
                f"the RAG API at {self.api.url} cannot be reached ({reason}); "
                "start it, or unset [cli] api_url"
            )
            raise BllossomRagError(msg) from None
        with response:
            yield from self._events(response)

    def _events(self, response: http.client.HTTPResponse) -> Iterator[str]:
        for raw in response:
            line = raw.decode("utf-8").strip()
            if not line.startswith("data:"):
                continue
            data = line.removeprefix("data:").strip()
            if data == "[DONE]":
                return
            event = json.loads(data)
            if "error" in event:
                raise BllossomRagError(self._message(event))
            if "sources" in event:
                self.sources = list(event["sources"])
            if event.get("usage"):
                self.prompt_tokens = event["usage"].get("prompt_tokens")
            for choice in event.get("choices") or ():
                piece = (choice.get("delta") or {}).get("content") or ""
                if piece:
                    self.text += piece
                    yield piece

    def _refusal(self, status: int, body: bytes) -> str:
        try:
            detail = self._message(json.loads(body))
        except ValueError:
            detail = body.decode("utf-8", "replace")[:200]
        hint = " (set [cli] api_key)" if status == 401 else ""
        return f"the RAG API at {self.api.url} answered {status}: {detail}{hint}"

    @staticmethod
    def _message(event: Mapping[str, Any]) -> str:
        error = event.get("error")
        return str(error.get("message") if isinstance(error, Mapping) else error)


def message(role: str, text: str, images: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """An OpenAI chat message; the user's images (LangChain image blocks) as data URLs."""
    if not images:
        return {"role": role, "content": text}
    parts: list[dict[str, Any]] = [{"type": "text", "text": text}]
    for block in images:
        url = f"data:{block['mime_type']};base64,{block['base64']}"
        parts.append({"type": "image_url", "image_url": {"url": url}})
    return {"role": role, "content": parts}


def remote_api(settings: Settings, store_id: Callable[[], str]) -> RemoteApi | None:
    """The API to send questions to (see the module docstring), or None.

    Args:
        settings: ``[cli]`` and ``[api] port``.
        store_id: This terminal's store id (read only when an API is found running).

    """
    cli = settings.cli
    key = cli.api_key.get_secret_value() if cli.api_key is not None else None
    if cli.api_url:
        return RemoteApi(cli.api_url, key)
    if not cli.find_api:
        return None
    local = RemoteApi(f"http://127.0.0.1:{settings.api.port}", key, found=True)
    health = _probe(local, "/health")
    if not isinstance(health, dict) or health.get("ready") is not True:
        return None  # nothing there, still loading (503), or not a RAG API
    if health.get("store_id") != store_id():
        return None  # another store's API
    return local if _probe(local, "/v1/models") is not None else None  # it takes our key


def _probe(api: RemoteApi, path: str) -> Any:
    """The JSON ``api`` answers ``GET path`` with, or None when it answers no 200 in time."""
    try:
        with urllib.request.urlopen(api._request(path), timeout=PROBE_TIMEOUT_S) as response:
            return json.loads(response.read(65536))
    except (OSError, ValueError, http.client.HTTPException):
        return None

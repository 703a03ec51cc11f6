"""The Dashboard's calls: recent ingests the user may see, generator health, disk usage.

Nothing here loads a model: the generator check probes the worker's ``/health`` or, in-process,
that the model folder exists.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from rag.access import Access
from rag.assistant import Assistant
from rag.config import Settings
from rag.errors import BllossomRagError
from rag.generation.llm import worker_base_url
from rag.runtime.models import model_reference
from rag.store import DocumentRecord
from ui.web.services.common import readable_collections

HEALTH_TIMEOUT_S = 3.0


def readable_documents(assistant: Assistant, access: Access) -> list[DocumentRecord]:
    """Every document ``access`` may read, most recently ingested first.

    The store's commit log and its size on disk are not shown from this: a commit counts the
    chunks of every document it wrote and the disk holds every upload, readable or not, so
    either would tell a user when and how much was ingested for others.
    """
    readable = [
        document
        for info in readable_collections(assistant, access)
        for document in assistant.store.documents(info.name, access)
    ]
    return sorted(readable, key=lambda d: d.ingested_at, reverse=True)


@dataclass(frozen=True)
class GeneratorHealth:
    """Whether the generator can be reached, without loading or calling it."""

    ok: bool
    kind: Literal["worker", "in-process"]
    target: str  # the worker URL or the model name
    detail: str
    latency_ms: float | None = None


def generator_health(settings: Settings) -> GeneratorHealth:
    """Probe the worker's ``/health`` (beside ``/v1``), or check the in-process model folder.

    Our worker answers JSON (``status``, ``model``, ``running``, ``waiting``) and 503 while it
    loads; vLLM answers an empty 200. Neither call loads or runs the model.
    """
    generation = settings.generation
    if not generation.worker_url:
        try:
            model_reference(generation.model, "generator")
        except BllossomRagError as error:
            return GeneratorHealth(False, "in-process", generation.model, str(error))
        return GeneratorHealth(True, "in-process", generation.model, "")
    base = worker_base_url(generation.worker_url)
    request = urllib.request.Request(f"{base.removesuffix('/v1')}/health")
    if generation.worker_api_key is not None:
        request.add_header(
            "Authorization", f"Bearer {generation.worker_api_key.get_secret_value()}"
        )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=HEALTH_TIMEOUT_S) as response:
            body = response.read(4096)
    except urllib.error.HTTPError as error:  # e.g. 503 while the model loads
        detail = _health_detail(error.read(4096)) or error.reason
        return GeneratorHealth(False, "worker", base, f"HTTP {error.code} {detail}")
    except (urllib.error.URLError, OSError) as error:
        return GeneratorHealth(False, "worker", base, str(getattr(error, "reason", error)))
    latency = (time.perf_counter() - started) * 1000
    return GeneratorHealth(True, "worker", base, _health_detail(body) or "ok", latency)


def _health_detail(body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")[:200]
    if not isinstance(data, dict):
        return str(data)[:200]
    return ", ".join(f"{key}={value}" for key, value in data.items())[:200]


def store_usage(data_dir: Path) -> dict[str, int]:
    """Bytes on disk under ``data_dir`` by component (symlinks are not followed).

    For administrators only: the disk holds every group's documents.
    """
    usage: dict[str, int] = {}
    root = Path(data_dir).expanduser()
    for folder, _subfolders, files in os.walk(root):
        relative = Path(folder).relative_to(root)
        for name in files:
            path = Path(folder) / name
            if path.is_symlink():
                continue
            top = relative.parts[0] if relative.parts else _file_component(name)
            try:
                usage[top] = usage.get(top, 0) + path.stat().st_size
            except FileNotFoundError:  # removed while we walked
                continue
    return dict(sorted(usage.items(), key=lambda item: -item[1]))


def _file_component(name: str) -> str:
    if name.startswith("store.sqlite3"):
        return "sqlite"
    if name.startswith("ui-metrics"):
        return "ui-metrics"
    return name

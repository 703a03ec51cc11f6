"""Every call the UI makes into ``rag`` and ``ingest``, in one place.

Pages draw; this module does. It has no retrieval, prompt or ingestion logic of its own: it
builds the same chain and the same ingestor the CLI builds, passes the user's
:class:`~rag.access.Access` to every query and every listing, and turns library failures into
messages. Keeping every call site here means a change in the library API is a change in one
file.
"""

from __future__ import annotations

import io
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.documents import Document
from PIL import Image

from rag.access import Access
from rag.assistant import Assistant
from rag.chain import sources_from_documents
from rag.config import Settings
from rag.errors import BllossomRagError, DocumentNotFoundError
from rag.images import encode_data_url, open_image
from rag.llm import worker_base_url
from rag.messages import image_block
from rag.models import model_reference
from rag.store import CollectionInfo, CommitRecord, CommitResult, DocumentRecord
from rag.store.store import validate_collection_name
from ui.web.i18n import t
from ui.web.uploads import save_upload, uploads_folder

if TYPE_CHECKING:
    from ingest.report import IngestProgress

USER_IMAGE_THUMBNAIL = (256, 256)
HEALTH_TIMEOUT_S = 3.0

# --- reading the library ---------------------------------------------------------------------


def upload_types() -> list[str]:
    """File types the ingestion pipeline reads (for the uploader's filter)."""
    from ingest.formats import SUPPORTED_SUFFIXES

    return sorted(suffix.lstrip(".") for suffix in SUPPORTED_SUFFIXES)


def collections(assistant: Assistant, access: Access) -> list[CollectionInfo]:
    """Every collection, with the counts of what ``access`` may read."""
    return assistant.store.collections(access)


def documents(assistant: Assistant, collection: str, access: Access) -> list[DocumentRecord]:
    """The documents of ``collection`` that ``access`` may read."""
    return assistant.store.documents(collection, access)


def commits(assistant: Assistant, limit: int = 20) -> list[CommitRecord]:
    """The newest ingests and removals."""
    return assistant.store.commits(limit)


def remove_document(
    assistant: Assistant, collection: str, document_id: str, access: Access
) -> tuple[DocumentRecord, CommitResult]:
    """Delete a document the user can see, and its uploaded file if the UI saved it."""
    found = next((d for d in documents(assistant, collection, access) if d.id == document_id), None)
    if found is None:
        msg = f"no document {document_id!r} in collection {collection!r}"
        raise DocumentNotFoundError(msg)
    result = assistant.store.remove_documents(collection, [found.id])
    uploads = uploads_folder(assistant.settings.data_dir, collection).resolve()
    source = Path(found.source_path)
    if source.parent == uploads and not source.is_symlink():
        source.unlink(missing_ok=True)
    return found, result


# --- ingesting uploads -----------------------------------------------------------------------


STATUSES = ("ingested", "unchanged", "failed")


def display_name(source_path: str) -> str:
    """A document's file name (the full path is in the library table)."""
    return Path(source_path).name


@dataclass(frozen=True)
class UploadResult:
    """What happened to one uploaded file (``name`` is the name the browser sent)."""

    name: str
    status: Literal["ingested", "unchanged", "failed"]
    path: str | None = None
    error: str | None = None


def ingest_uploads(
    assistant: Assistant,
    files: Sequence[tuple[str, bytes]],
    *,
    collection: str,
    groups: Sequence[str],
    on_progress: Callable[[IngestProgress], None] | None = None,
) -> list[UploadResult]:
    """Save uploads under ``data_dir/uploads/<collection>/`` and ingest them like the CLI does.

    Files that fail are deleted again, so the uploads folder only holds what is indexed.
    """
    from ingest.pipeline import Ingestor

    name = validate_collection_name(collection)
    folder = uploads_folder(assistant.settings.data_dir, name)
    saved: dict[str, str] = {}  # resolved path -> the browser's name
    results: list[UploadResult] = []
    for client_name, data in files:
        path = str(save_upload(folder, client_name, data).resolve())
        if path in saved:
            results.append(
                UploadResult(
                    saved[path], "failed", path, f"replaced by {client_name!r} (same name)"
                )
            )
        saved[path] = client_name
    settings = assistant.settings
    ingestor = Ingestor.from_settings(
        settings, assistant.store, assistant.embeddings, llm=lambda: assistant.llm
    )
    report = ingestor.ingest(
        [Path(p) for p in saved], collection=name, groups=list(groups), on_progress=on_progress
    )
    results += [UploadResult(saved.get(p, p), "ingested", p) for p in report.ingested]
    results += [UploadResult(saved.get(p, p), "unchanged", p) for p in report.unchanged]
    for failure in report.failed:
        results.append(
            UploadResult(saved.get(failure.path, failure.path), "failed", None, failure.error)
        )
        if failure.path in saved:
            Path(failure.path).unlink(missing_ok=True)
    return results


# --- asking ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AskOptions:
    """The chat sidebar's choices."""

    collection: str
    top_k: int
    max_new_tokens: int
    temperature: float
    top_p: float


def read_user_image(data: bytes) -> tuple[Image.Image, bytes]:
    """Decode an attached image safely (size limits first); return it and a JPEG thumbnail."""
    image = open_image(data)
    small = image.copy()
    small.thumbnail(USER_IMAGE_THUMBNAIL)
    buffer = io.BytesIO()
    small.save(buffer, format="JPEG", quality=85)
    return image, buffer.getvalue()


def _generation_kwargs(llm: Any, options: AskOptions) -> dict[str, Any]:
    # In-process Bllossom calls the length limit max_new_tokens, OpenAI-compatible clients
    # max_tokens; both read the overrides at call time.
    fields = getattr(type(llm), "model_fields", {})
    length = "max_new_tokens" if "max_new_tokens" in fields else "max_tokens"
    return {
        length: options.max_new_tokens,
        "temperature": options.temperature,
        "top_p": options.top_p,
    }


def ask(
    assistant: Assistant,
    question: str,
    image: Image.Image | None,
    options: AskOptions,
    access: Access,
    callbacks: Sequence[BaseCallbackHandler] = (),
) -> Iterator[dict[str, Any]]:
    """Stream the RAG chain for one question (``documents`` first, then ``answer`` pieces)."""
    llm = assistant.llm.bind(**_generation_kwargs(assistant.llm, options))
    chain = assistant.chain(options.collection, options.top_k, access=access, llm=llm)
    images = [image_block(encode_data_url(image))] if image is not None else []
    return chain.stream(
        {"question": question, "images": images}, config={"callbacks": list(callbacks)}
    )


@dataclass(frozen=True)
class SourceView:
    """One numbered source as the page shows it."""

    number: int
    source: str
    page: int | None
    score: float
    text: str
    thumbnail: str | None  # for image chunks: the stored thumbnail


@dataclass(frozen=True)
class PromptImage:
    """An image that went into the prompt, with its thumbnail's bytes.

    The bytes are read when the answer is made, so the chat history still shows the image after
    its document is removed and the store deletes the file.
    """

    number: int | None  # its citation number, None for the user's own image
    source: str
    thumbnail: bytes


def source_views(documents_: Sequence[Document]) -> list[SourceView]:
    """The chain's citations (``[n]`` = n-th document) with what the page needs to show them."""
    return [
        SourceView(
            number=source.number,
            source=source.source,
            page=source.page,
            score=source.score,
            text=source.text,
            thumbnail=document.metadata.get("thumbnail_path"),
        )
        for source, document in zip(
            sources_from_documents(list(documents_)), documents_, strict=True
        )
    ]


def prompt_images(state: dict[str, Any], user_thumbnail: bytes | None) -> list[PromptImage]:
    """The images the prompt carried: the user's first, then the stored ones the chain listed."""
    shown = [PromptImage(None, "", user_thumbnail)] if user_thumbnail else []
    for item in state.get("images") or ():
        # The chain's own listing has "kind"; the input's LangChain image blocks do not.
        if not isinstance(item, dict) or "kind" not in item or item["kind"] == "user":
            continue
        path = item.get("thumbnail_path") or item.get("image_path")
        try:
            thumbnail = Path(path).read_bytes() if path else None
        except OSError:  # removed with its document since the search
            thumbnail = None
        if thumbnail:
            shown.append(PromptImage(item.get("number"), str(item.get("source", "")), thumbnail))
    return shown


def generation_backend(settings: Settings) -> str:
    """``worker`` or ``in-process``: how answers are generated (for the metrics)."""
    return "worker" if settings.worker_url else "in-process"


def generation_failure(error: Exception, settings: Settings) -> str | None:
    """The message to show when generation fails in a way a user or operator can fix.

    Returns None for anything else: that is a bug and keeps its traceback.
    """
    if isinstance(error, BllossomRagError):
        return t("generation_failed", error=error)
    url = settings.worker_url or ""
    try:
        import openai
    except ImportError:  # no OpenAI client installed, so no worker either
        openai = None
    if openai is not None and isinstance(error, openai.APIStatusError):
        reason = t("worker_status", url=url, status=error.status_code, error=error.message)
        return t("generation_failed", error=reason)
    unreachable = (ConnectionError, TimeoutError)
    if openai is not None:
        unreachable += (openai.APIConnectionError,)
    if isinstance(error, unreachable):
        reason = t("worker_unreachable", url=url, error=str(error) or type(error).__name__)
        return t("generation_failed", error=reason)
    return None


# --- health and size ---------------------------------------------------------------------------


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
    if not settings.worker_url:
        try:
            model_reference(settings.generator_model, "generator")
        except BllossomRagError as error:
            return GeneratorHealth(False, "in-process", settings.generator_model, str(error))
        return GeneratorHealth(True, "in-process", settings.generator_model, "")
    base = worker_base_url(settings.worker_url)
    request = urllib.request.Request(f"{base.removesuffix('/v1')}/health")
    if settings.worker_api_key is not None:
        request.add_header("Authorization", f"Bearer {settings.worker_api_key.get_secret_value()}")
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
    """Bytes on disk under ``data_dir`` by component (symlinks are not followed)."""
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

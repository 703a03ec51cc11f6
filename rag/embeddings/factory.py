"""Settings -> an embedder: in this process (ONNX Runtime or torch) or on a server.

Loaded embedders are shared per process, keyed by everything that changes the loaded object, so
assistants built with the same settings (the web app, a notebook, the in-process CLI tests) load
each model once; a couple per kind are kept, which bounds the memory a process switching models
can hold. A failed load is not cached (``lru_cache`` keeps only results), so fixing a setting and
retrying works.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from rag.embeddings.onnx import OnnxEmbeddings
from rag.embeddings.remote import ServerEmbeddings, folder_prompts
from rag.embeddings.torch import SentenceTransformerEmbeddings
from rag.errors import ModelLoadError
from rag.runtime.models import resolve_device

if TYPE_CHECKING:
    from rag.config import Settings
    from rag.embeddings.base import TextEmbeddings

logger = logging.getLogger(__name__)

Backend = Literal["auto", "torch", "onnx"]
# Loaded embedders kept per kind (the models in use, and the one before a switch).
SHARED_MODELS = 2


def load_embeddings(
    name_or_path: str,
    *,
    device: str = "auto",
    batch_size: int = 32,
    backend: Backend = "auto",
    quantize: bool = False,
    cache_dir: Path | None = None,
) -> SentenceTransformerEmbeddings:
    """The embedder for the ``embedding.backend`` setting.

    ``auto`` takes ONNX Runtime on the CPU (it is faster there: ``docs/benchmarks.md``) and
    torch on a GPU, and falls back to torch, with a warning, when onnxruntime is missing or the
    model cannot be exported; ``onnx`` insists (the ONNX graph always runs on the CPU).

    Raises:
        ModelLoadError: The model cannot be loaded (or, for ``onnx``, exported).

    """
    if backend == "torch" or (backend == "auto" and resolve_device(device) != "cpu"):
        return SentenceTransformerEmbeddings.load(
            name_or_path, device=device, batch_size=batch_size
        )
    try:
        return OnnxEmbeddings.load_onnx(
            name_or_path, batch_size=batch_size, quantize=quantize, cache_dir=cache_dir
        )
    except ModelLoadError as error:
        if backend == "onnx":
            raise
        logger.warning("embedding with torch instead of ONNX Runtime: %s", error)
        return SentenceTransformerEmbeddings.load(
            name_or_path, device=device, batch_size=batch_size
        )


def embedder_for(settings: Settings, model: str) -> TextEmbeddings:
    """The embedder of ``model`` as the settings run it: here, or at ``embedding.url``.

    A server is told the model's own query and passage prompts (from its folder) unless the
    settings name them.
    """
    if not settings.embedding.url:
        return _local(
            model,
            settings.device,
            settings.embedding.batch_size,
            settings.embedding.backend,
            settings.embedding.quantize,
            settings.embedding.cache_dir,
        )
    folder_query, folder_passage = folder_prompts(Path(model))
    key = settings.embedding.api_key
    return _server(
        settings.embedding.url,
        model,
        key.get_secret_value() if key else None,
        _first(settings.embedding.query_prompt, folder_query),
        _first(settings.embedding.passage_prompt, folder_passage),
        settings.embedding.batch_size,
        settings.embedding.timeout_s,
    )


@lru_cache(maxsize=SHARED_MODELS)
def _local(
    reference: str,
    device: str,
    batch_size: int,
    backend: Backend,
    quantize: bool,
    cache_dir: Path | None,
) -> SentenceTransformerEmbeddings:
    return load_embeddings(
        reference,
        device=device,
        batch_size=batch_size,
        backend=backend,
        quantize=quantize,
        cache_dir=cache_dir,
    )


@lru_cache(maxsize=SHARED_MODELS)
def _server(
    url: str,
    model: str,
    api_key: str | None,
    query_prompt: str,
    passage_prompt: str,
    batch_size: int,
    timeout: float,
) -> ServerEmbeddings:
    return ServerEmbeddings(
        url,
        model,
        api_key=api_key,
        query_prompt=query_prompt,
        passage_prompt=passage_prompt,
        batch_size=batch_size,
        timeout=timeout,
        tokenizer_source=model,
    )


def _first(setting: str | None, fallback: str) -> str:
    """A prompt setting when it is set (even to an empty one), else what the folder declares."""
    return fallback if setting is None else setting

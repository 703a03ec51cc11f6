"""``POST /v1/embeddings``: the worker also embeds, for instances that keep no model in memory.

The request is OpenAI's (``input``: a string or a list of strings; ``encoding_format``:
``float`` or ``base64``, which OpenAI's client asks for by default), the answer too (vectors in
input order, unit length, ``usage`` in tokens). Texts are embedded exactly as sent: query and
passage prompts are the client's to add (:mod:`rag.embeddings.remote`), as with other servers.

Embedding shares the worker's protections: the API key (middleware), the body's size and time
limits, a cap on texts per request (``server.max_embedding_inputs``), the request timeout, and
admission with its own slot and the same queue length, so a burst of embeddings is refused
(429) rather than queued forever, and never waits behind a long generation for a slot. The
model runs on a thread; it loads at startup like the generator, and ``/health`` is ready once
both are loaded.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from typing import Any, Literal

import numpy as np
from pydantic import field_validator
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from rag.embeddings.torch import SentenceTransformerEmbeddings
from rag.runtime.models import public_model_name
from serve.http.admission import Admission
from serve.http.metrics import Metrics
from serve.http.middleware import read_body
from serve.http.protocol import RequestError, RequestModel, parse_body
from serve.http.readiness import Readiness
from serve.http.service import GenerationService
from serve.http.waiting import unless_gone, wait_for_disconnect
from serve.worker.options import WorkerOptions

log = logging.getLogger("bllossom_rag.worker")


class EmbeddingRequest(RequestModel):
    """OpenAI's embeddings request (``user`` and other extras are ignored)."""

    input: str | list[str]
    model: str | None = None
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = None

    @field_validator("input", mode="before")
    @classmethod
    def _text_only(cls, value: Any) -> Any:
        if isinstance(value, list) and value and not all(isinstance(v, str) for v in value):
            msg = "token arrays are not supported; send the texts as strings"
            raise ValueError(msg)
        return value

    def texts(self) -> list[str]:
        """The inputs as a list."""
        return [self.input] if isinstance(self.input, str) else list(self.input)


class EmbeddingService:
    """The embedding model behind ``/v1/embeddings``, with its own slot and queue.

    Args:
        embedder: The sentence-transformers model (loaded by :meth:`load`).
        options: The worker's limits and the model's name.
        metrics: The worker's counters.

    """

    def __init__(
        self, embedder: SentenceTransformerEmbeddings, options: WorkerOptions, metrics: Metrics
    ) -> None:
        self.embedder = embedder
        self.options = options
        self.metrics = metrics
        self.name = public_model_name(embedder.name)
        self.admission = Admission(1, options.max_queue)
        self.readiness = Readiness(log, "the embedding model")

    def load(self) -> None:
        """Warm the model up (on a thread at startup); ``/health`` reports the result."""
        self.readiness.load(self._warm_up)

    def _warm_up(self) -> None:
        self.embedder.model.encode(["warm up"], prompt="")

    async def handle(self, request: Request) -> Response:
        """``POST /v1/embeddings``."""
        return await GenerationService.answer(lambda: self._embed(request))

    async def _embed(self, request: Request) -> Response:
        self.readiness.check()
        options = self.options
        body = await read_body(request, options.max_body_bytes, options.read_timeout)
        parsed = parse_body(body, EmbeddingRequest)
        texts = self._check(parsed)
        deadline = time.monotonic() + options.timeout
        watcher = asyncio.ensure_future(wait_for_disconnect(request.receive))
        try:
            await self.admission.admit(
                watcher, deadline, timeout=options.timeout, server="embedder", work="embedding"
            )
            try:
                started = time.perf_counter()
                vectors, tokens = await unless_gone(
                    run_in_threadpool(self._encode, texts), watcher, deadline
                )
            except TimeoutError:
                msg = f"the request took longer than the {options.timeout:g} s timeout"
                raise RequestError(504, msg, kind="server_error", code="timeout") from None
            finally:
                self.admission.release()
        finally:
            watcher.cancel()
        self.metrics.embedded(len(texts), tokens, time.perf_counter() - started)
        return JSONResponse(self._body(vectors, tokens, parsed.encoding_format))

    def _check(self, parsed: EmbeddingRequest) -> list[str]:
        texts = parsed.texts()
        if parsed.model and parsed.model != self.name:
            msg = (
                f"model {parsed.model!r} is not served here; this worker embeds with {self.name!r}"
            )
            raise RequestError(404, msg, param="model", code="model_not_found")
        if not texts:
            raise RequestError(400, "input: send at least one text", param="input")
        if len(texts) > self.options.max_embedding_inputs:
            msg = (
                f"input: {len(texts):,} texts in one request; this worker embeds at most "
                f"{self.options.max_embedding_inputs:,} (server.max_embedding_inputs)"
            )
            raise RequestError(400, msg, param="input")
        if parsed.dimensions is not None and parsed.dimensions != self.embedder.dimension:
            msg = f"dimensions: this model makes {self.embedder.dimension}-d vectors only"
            raise RequestError(400, msg, param="dimensions")
        return texts

    def _encode(self, texts: list[str]) -> tuple[np.ndarray, int]:
        """Normalized vectors of the texts as sent (no prompt), and their token count."""
        model = self.embedder.model
        vectors = model.encode(
            texts,
            prompt="",
            batch_size=self.embedder.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
        )
        limit = model.max_seq_length or None
        counted = model.tokenizer(texts, truncation=limit is not None, max_length=limit)
        return np.asarray(vectors, dtype=np.float32), sum(len(ids) for ids in counted["input_ids"])

    def _body(self, vectors: np.ndarray, tokens: int, encoding: str) -> dict[str, Any]:
        def encoded(row: np.ndarray) -> list[float] | str:
            if encoding == "base64":
                return base64.b64encode(row.astype("<f4").tobytes()).decode("ascii")
            return row.tolist()

        return {
            "object": "list",
            "data": [
                {"object": "embedding", "index": i, "embedding": encoded(row)}
                for i, row in enumerate(vectors)
            ],
            "model": self.name,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }

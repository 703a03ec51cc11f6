"""``POST /v1/embeddings``: the worker also embeds, for instances that keep no model in memory.

The request is OpenAI's (``input``: a string or a list of strings; ``encoding_format``:
``float`` or ``base64``, which OpenAI's client asks for by default), the answer too (vectors in
input order, unit length, ``usage`` in tokens). Texts are embedded exactly as sent: query and
passage prompts are the client's to add (:mod:`rag.embeddings.remote`), as with other servers.

Embedding shares the worker's protections: the API key (middleware), the body's size and time
limits, caps on what one request may ask (texts, characters per text, characters in all:
``server.max_embedding_inputs``, ``max_embedding_input_chars``, ``max_embedding_chars``, each
a 400 naming itself before any work), the request timeout, and admission with its own slot and
the same queue length, so a burst of embeddings is refused (429) rather than queued forever,
and never waits behind a long generation for a slot. The model runs on a thread, a batch at a
time: past the timeout (or when the client leaves) the answer is a 504 at once and the work
stops after the batch it is in; the slot is free again only then. The model loads at startup
like the generator, and ``/health`` is ready once both are loaded.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import threading
import time
from typing import Any, Literal

import numpy as np
from pydantic import field_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from rag.embeddings.torch import SentenceTransformerEmbeddings
from rag.runtime.cancel import stop_if_cancelled
from rag.runtime.models import public_model_name
from serve.http.admission import Admission
from serve.http.metrics import Metrics
from serve.http.middleware import read_body
from serve.http.protocol import RequestError, RequestModel, parse_body
from serve.http.readiness import Readiness
from serve.http.service import GenerationService
from serve.http.waiting import on_thread, wait_for_disconnect
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
            slot = await self.admission.admit(
                watcher, deadline, timeout=options.timeout, server="embedder", work="embedding"
            )
            started = time.perf_counter()
            try:
                vectors, tokens = await on_thread(
                    lambda cancel: self._encode(texts, cancel),
                    watcher,
                    deadline,
                    on_end=lambda _: slot.release(),  # when the thread has really stopped
                )
            except TimeoutError:
                msg = f"the request took longer than the {options.timeout:g} s timeout"
                raise RequestError(504, msg, kind="server_error", code="timeout") from None
        finally:
            watcher.cancel()
        self.metrics.embedded(len(texts), tokens, time.perf_counter() - started)
        return JSONResponse(self._body(vectors, tokens, parsed.encoding_format))

    def _check(self, parsed: EmbeddingRequest) -> list[str]:
        texts = parsed.texts()
        options = self.options
        if parsed.model and parsed.model != self.name:
            msg = (
                f"model {parsed.model!r} is not served here; this worker embeds with {self.name!r}"
            )
            raise RequestError(404, msg, param="model", code="model_not_found")
        if not texts:
            raise RequestError(400, "input: send at least one text", param="input")
        if len(texts) > options.max_embedding_inputs:
            msg = (
                f"input: {len(texts):,} texts in one request; this worker embeds at most "
                f"{options.max_embedding_inputs:,} (server.max_embedding_inputs)"
            )
            raise RequestError(400, msg, param="input")
        for index, text in enumerate(texts):
            if len(text) > options.max_embedding_input_chars:
                param = "input" if isinstance(parsed.input, str) else f"input[{index}]"
                msg = (
                    f"{param}: {len(text):,} characters; this worker embeds at most "
                    f"{options.max_embedding_input_chars:,} in one text "
                    "(server.max_embedding_input_chars)"
                )
                raise RequestError(400, msg, param=param)
        total = sum(map(len, texts))
        if total > options.max_embedding_chars:
            msg = (
                f"input: {total:,} characters in all; this worker embeds at most "
                f"{options.max_embedding_chars:,} in one request (server.max_embedding_chars)"
            )
            raise RequestError(400, msg, param="input")
        if parsed.dimensions is not None and parsed.dimensions != self.embedder.dimension:
            msg = f"dimensions: this model makes {self.embedder.dimension}-d vectors only"
            raise RequestError(400, msg, param="dimensions")
        return texts

    def _encode(self, texts: list[str], cancel: threading.Event) -> tuple[np.ndarray, int]:
        """Normalized vectors of the texts as sent (no prompt), and their token count.

        A batch at a time, so a request given up on stops after the batch it is in.

        Raises:
            Cancelled: ``cancel`` was set.

        """
        model = self.embedder.model
        limit = model.max_seq_length or None
        size = self.embedder.batch_size
        vectors, tokens = [], 0
        for start in range(0, len(texts), size):
            stop_if_cancelled(cancel)
            batch = texts[start : start + size]
            vectors.append(
                model.encode(
                    batch,
                    prompt="",
                    batch_size=size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                )
            )
            counted = model.tokenizer(batch, truncation=limit is not None, max_length=limit)
            tokens += sum(len(ids) for ids in counted["input_ids"])
        return np.vstack(vectors).astype(np.float32), tokens

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

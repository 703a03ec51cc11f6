"""The worker's HTTP application (Starlette): the routes and the path of a chat request.

Routes: ``POST /v1/chat/completions`` (streaming or not), ``POST /v1/embeddings`` (when the
worker was given an embedding model, :mod:`~serve.worker.embeddings`), ``GET /v1/models``,
``GET /health``
(no key needed, 200 only when the model is loaded, so a load balancer can wait for it) and
``GET /metrics``. A chat request goes: body within its size and time limits (413, 408),
validation (400), the cheap limits (images, ``max_tokens``, and a floor on the prompt's length
from its text alone, so a 30 MB message is refused in microseconds: 400), queue admission (429
when full), prompt encoding in a thread (400 for bad images or an over-long prompt), then
generation. The request's timeout covers the queue, the encoding and the generation. The
response status is decided only after the first token or the first error, so a stream that
cannot start (out of memory, timeout) is a proper 503/504 rather than a broken 200. A client
that disconnects, while queued, encoding or generating, stops its work at once (and is counted
as 499).

The pieces live beside it, shared with the RAG API: the queue, generations and readiness of a
server (:mod:`~serve.http.service`), key, counting and body limits
(:mod:`~serve.http.middleware`), the cheap limits (:mod:`~serve.http.limits`), waits that end
when the client leaves or time is up (:mod:`~serve.http.waiting`), responses from a generation
(:mod:`~serve.http.streaming`); the worker's own options are :mod:`~serve.worker.options`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from rag.access.registry import Registry
from rag.embeddings.torch import SentenceTransformerEmbeddings
from rag.errors import BllossomRagError
from rag.generation.llm import ChatBllossom, EncodedPrompt
from serve.http.admission import Slot
from serve.http.generation import Generation
from serve.http.limits import RequestLimits
from serve.http.metrics import Metrics
from serve.http.middleware import CountRequests, RequireAPIKey, read_body
from serve.http.prompt_floor import PromptFloor
from serve.http.protocol import ChatCompletionRequest, CompletionIds, RequestError, parse_request
from serve.http.service import GenerationService, service_app
from serve.http.streaming import respond
from serve.http.waiting import on_thread, wait_for_disconnect
from serve.worker.embeddings import EmbeddingService
from serve.worker.options import WorkerOptions

log = logging.getLogger("bllossom_rag.worker")
ROUTES = ("/v1/chat/completions", "/v1/embeddings", "/v1/models", "/health", "/metrics")


class Worker(GenerationService):
    """The state behind the routes: the model, the admission queue, metrics.

    Args:
        llm: The chat model to serve (loaded in the background at startup if needed).
        options: Limits and the API key.
        embedder: An embedding model to serve at ``/v1/embeddings`` too, if any.

    """

    def __init__(
        self,
        llm: ChatBllossom,
        options: WorkerOptions,
        embedder: SentenceTransformerEmbeddings | None = None,
    ) -> None:
        super().__init__(options.max_concurrency, options.max_queue, log)
        self.llm = llm
        self.options = options
        self.metrics = Metrics()
        self.embedding = (
            EmbeddingService(embedder, options, self.metrics) if embedder is not None else None
        )
        self.created = int(time.time())
        self.floor: PromptFloor | None = None  # set once the model has loaded
        self.limits = RequestLimits.of(options)

    # --- lifecycle ---------------------------------------------------------------------------

    def load(self) -> None:
        """Load the models (on a thread at startup); /health reports the result.

        The embedder loads on its own thread, so neither waits for the other.
        """
        if self.embedding is not None:
            embedding = self.embedding
            threading.Thread(target=embedding.load, name="bllossom-embed", daemon=True).start()

        def load_model() -> None:
            self.llm.model  # noqa: B018  (loads the model and processor)
            self.floor = PromptFloor(self.llm.processor.tokenizer)

        self.readiness.load(load_model)

    # --- routes ------------------------------------------------------------------------------

    async def health(self, _: Request) -> JSONResponse:
        """Readiness: 200 once the model is loaded, else 503 with ``loading`` or ``error``.

        Anyone may ask (no key), so it says nothing about the machine: the model by its name
        (never its folder), and a failed load without its reason, which is in the log and in
        the 503 of an authenticated request.
        """
        embedding = self.embedding
        ready = self.readiness.ready and (embedding is None or embedding.readiness.ready)
        failed = self.readiness.error or (embedding is not None and embedding.readiness.error)
        status = "ok" if ready else "error" if failed else "loading"
        body: dict[str, Any] = {
            "status": status,
            "ready": ready,
            "model": self.options.public_model_name,
            "running": self.admission.running,
            "waiting": self.admission.waiting,
        }
        if embedding is not None:
            body["embedding_model"] = embedding.name
        if failed:
            body["error"] = "a model could not be loaded; the worker's log says why"
        return JSONResponse(body, status_code=200 if status == "ok" else 503)

    async def models(self, _: Request) -> JSONResponse:
        """The served models (the generator, and the embedder if any), in OpenAI's list shape."""
        names = [self.options.public_model_name]
        if self.embedding is not None:
            names.append(self.embedding.name)
        models = [
            {"id": name, "object": "model", "created": self.created, "owned_by": "bllossom-rag"}
            for name in names
        ]
        return JSONResponse({"object": "list", "data": models})

    async def metrics_text(self, _: Request) -> PlainTextResponse:
        """Prometheus text format."""
        text = self.metrics.render(self.admission, ready=self.readiness.ready)
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4")

    async def chat(self, request: Request) -> Response:
        """``POST /v1/chat/completions`` (a 499 for a client gone is counted in the metrics)."""
        return await self.answer(lambda: self._chat(request))

    # --- one chat request --------------------------------------------------------------------

    async def _chat(self, request: Request) -> Response:
        self.readiness.check()
        options = self.options
        parsed = parse_request(
            await read_body(request, options.max_body_bytes, options.read_timeout)
        )
        assert self.floor is not None  # the model is ready
        self.limits.check(parsed, self.floor)
        deadline = time.monotonic() + options.timeout
        watcher = asyncio.ensure_future(wait_for_disconnect(request.receive))
        try:
            slot = await self.admission.admit(
                watcher, deadline, timeout=options.timeout, server="worker"
            )
        except BaseException:
            watcher.cancel()
            raise
        return await self._generate(parsed, watcher, deadline, slot)

    async def _generate(
        self,
        parsed: ChatCompletionRequest,
        watcher: asyncio.Future[None],
        deadline: float,
        slot: Slot,
    ) -> Response:
        # Holding a slot from here: _encode gives it back if it fails, on_end once generation
        # has started, and the except below if it could not start.
        prompt = await self._encode(parsed, watcher, deadline, slot)
        params = self._params(parsed)
        generation = self.launch(
            lambda cancel: self.llm.stream_prompt(
                prompt, stop=parsed.stops, cancel=cancel, **params
            ),
            watcher,
            slot,
            prompt_tokens=prompt.token_count,
        )
        ids = CompletionIds(parsed.model or self.options.public_model_name)
        return await respond(generation, parsed, ids, watcher, deadline, self.options.timeout)

    async def _encode(
        self,
        parsed: ChatCompletionRequest,
        watcher: asyncio.Future[None],
        deadline: float,
        slot: Slot,
    ) -> EncodedPrompt:
        """Encode on a thread, within the request's time and only while its client is there.

        Decoding images and running the processor can take seconds, so they count against the
        timeout like the queue and generation do. When the client leaves or the time is up,
        the request is answered at once and the encoding stops at its next step
        (:func:`~serve.http.waiting.on_thread`); the slot is given back when the thread has
        really stopped, so the concurrency limit stays true.

        Raises:
            RequestError: 400 for a bad image or an over-long prompt, 504 past the timeout.
            ClientDisconnect: The client left.

        """
        messages = parsed.to_langchain()
        self.metrics.encoding += 1

        def ended(abandoned: bool) -> None:
            self.metrics.encoding -= 1
            if abandoned:
                slot.release()

        try:
            prompt = await on_thread(
                lambda cancel: self.llm.encode(messages, cancel=cancel),
                watcher,
                deadline,
                on_end=ended,
            )
        except (TimeoutError, ClientDisconnect) as gone:
            watcher.cancel()
            late = isinstance(gone, TimeoutError)
            self.metrics.abandoned["timeout" if late else "cancelled"] += 1
            if not late:
                raise
            msg = (
                f"the request took longer than the {self.options.timeout:g} s timeout "
                "(while encoding the prompt)"
            )
            raise RequestError(504, msg, kind="server_error", code="timeout") from None
        except BllossomRagError as error:  # an unreadable image, an unsupported block
            self._give_back(slot, watcher)
            raise RequestError(400, str(error)) from None
        except BaseException:
            self._give_back(slot, watcher)
            raise
        if prompt.token_count > self.options.max_prompt_tokens:
            self._give_back(slot, watcher)
            msg = (
                f"the prompt is {prompt.token_count:,} tokens (images expanded); this worker "
                f"accepts at most {self.options.max_prompt_tokens:,} (server.max_prompt_tokens)"
            )
            raise RequestError(400, msg, param="messages", code="context_length_exceeded")
        return prompt

    @staticmethod
    def _give_back(slot: Slot, watcher: asyncio.Future[None]) -> None:
        """Release the slot of a request that ends before generating."""
        slot.release()
        watcher.cancel()

    def _params(self, parsed: ChatCompletionRequest) -> dict[str, Any]:
        asked = parsed.max_new_tokens()
        default = min(self.llm.max_new_tokens, self.options.max_new_tokens)
        params: dict[str, Any] = {"max_new_tokens": asked[1] if asked else default}
        if parsed.temperature is not None:
            params["temperature"] = parsed.temperature
        if parsed.top_p is not None:
            params["top_p"] = parsed.top_p
        return params

    def ended(self, generation: Generation) -> None:
        """Free the slot and count the generation in the metrics."""
        super().ended(generation)
        usage = generation.usage
        self.metrics.generation_ended(
            generation.outcome,
            usage.get("input_tokens", 0),
            usage.get("output_tokens", 0),
            generation.seconds,
        )
        if generation.first_token_seconds is not None:
            self.metrics.first_token(generation.first_token_seconds)


def create_app(
    llm: ChatBllossom,
    options: WorkerOptions,
    embedder: SentenceTransformerEmbeddings | None = None,
    registry: Registry | None = None,
) -> Starlette:
    """The worker application around a chat model (loaded in the background at startup).

    Args:
        llm: The model to serve; shared by all requests.
        options: Limits and the API key.
        embedder: An embedding model to serve at ``/v1/embeddings`` as well.
        registry: A store whose API keys the worker accepts too (``keys create``).

    """
    worker = Worker(llm, options, embedder)
    routes = [
        Route("/v1/chat/completions", worker.chat, methods=["POST"]),
        Route("/v1/models", worker.models, methods=["GET"]),
        Route("/health", worker.health, methods=["GET"]),
        Route("/metrics", worker.metrics_text, methods=["GET"]),
    ]
    if worker.embedding is not None:
        routes.append(Route("/v1/embeddings", worker.embedding.handle, methods=["POST"]))
    return service_app(
        worker,
        routes,
        [
            Middleware(CountRequests, metrics=worker.metrics, routes=ROUTES),
            Middleware(RequireAPIKey, keyring=options.keyring(registry)),
        ],
        read_timeout=options.read_timeout,
    )

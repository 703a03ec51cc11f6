"""The RAG API's HTTP application (Starlette): the routes and the path of a chat request.

Routes: ``POST /v1/chat/completions`` (a collection as the ``model``; streaming or not; the
answer's ``[n]`` citations index the top-level ``sources``, in the body or in the first chunk,
and each cited sentence's check is in the top-level ``support``, in the body or in the chunk
with the finish reason), ``GET /v1/models`` (the collections the key may read), ``POST
/v1/retrieve`` (the sources and the retrieval query, without generating), the source viewer's
``GET`` routes (:mod:`serve.api.sources`) and ``GET /health`` (no key; 200 once the models are
warm). Every other route needs a key from ``api.keys``; the key's groups are its caller's
access, carried into every search.

A chat request goes the worker's way, through the worker's own pieces: body within its size and
time limits (413, 408), validation (400 naming the field), the cheap limits (messages and their
characters, images, ``max_tokens``, a floor on the prompt's length, the question and its
conversation against ``[conversation]``: 400 naming the setting), the collection (404 when the
key can read nothing in it: whether it exists is not said), queue admission (429 when full;
fair between keys, ``[api] slots_per_key``), then the chain on a generation thread: retrieval
with the conversation, the prompt, the answer (or the fixed one when nothing was retrieved,
without calling the generator). A retrieval takes the same path without the answer. The
request's timeout covers the queue and the whole chain; past it, or when the client
disconnects, the work stops at its next step (between stages, and inside the prompt's and the
floor's loops), and its slot is free once it has.

The models load on a thread at startup (embedder, generator or its processor, the keyword
analyzer), so the first request is as fast as the others; requests before that get a 503.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from rag.access import Access
from rag.access.audit import Actor
from rag.access.keys import Caller
from rag.assistant import Assistant
from rag.generation.chain import build_retrieval
from rag.generation.llm import ChatBllossom, sampling
from rag.generation.result import ChainResult
from rag.text.kiwi import preload as preload_kiwi
from serve.api.answer import ChainAnswer
from serve.api.documents import document_routes
from serve.api.mcp import McpEndpoint
from serve.api.options import ApiOptions
from serve.api.requests import chat_turn, parse_retrieve
from serve.api.sources import SourceViewer, source_json
from serve.http.admission import Slot
from serve.http.limits import RequestLimits
from serve.http.middleware import RequireAPIKey, read_body
from serve.http.prompt_floor import PromptFloor
from serve.http.protocol import ChatCompletionRequest, CompletionIds, RequestError, parse_request
from serve.http.service import GenerationService, service_app
from serve.http.streaming import respond
from serve.http.waiting import on_thread, wait_for_disconnect

log = logging.getLogger("bllossom_rag.api")
SERVER = "RAG API"


class RagApi(GenerationService):
    """The state behind the routes: the assistant, the admission queue, readiness.

    Args:
        assistant: Builds the store, the models and the chains; shared by all requests.
        options: Keys and limits.

    """

    def __init__(self, assistant: Assistant, options: ApiOptions) -> None:
        super().__init__(options.max_concurrency, options.max_queue, log, options.key_slots)
        self.assistant = assistant
        self.options = options
        self.limits = RequestLimits.of(options, SERVER)
        self.floor: PromptFloor | None = None  # set once the models have loaded

    # --- lifecycle ---------------------------------------------------------------------------

    def load(self) -> None:
        """Warm every model a request uses (on a thread at startup); /health says when."""

        def warm() -> None:
            assistant = self.assistant
            preload_kiwi()
            assistant.embeddings.encode_query("warm up")
            if isinstance(assistant.llm, ChatBllossom):
                assistant.llm.model  # noqa: B018  (loads the weights, not only the processor)
            _ = assistant.prompt_builder, assistant.followups
            self.floor = PromptFloor(assistant.processor.tokenizer)

        self.readiness.load(warm)

    # --- routes ------------------------------------------------------------------------------

    async def health(self, _: Request) -> JSONResponse:
        """Readiness, for anyone: 200 once the models are warm, else 503 (nothing else said)."""
        body: dict[str, Any] = {
            "status": self.readiness.status,
            "ready": self.readiness.ready,
            "running": self.admission.running,
            "waiting": self.admission.waiting,
            # which store it serves: a terminal on this machine sends it questions only when
            # it is its own store (ui.cli.remote); an opaque id that says nothing of the data
            "store_id": self.assistant.store.store_id,
        }
        if self.readiness.error:
            body["error"] = "the models could not be loaded; the API's log says why"
        return JSONResponse(body, status_code=200 if self.readiness.ready else 503)

    async def models(self, request: Request) -> JSONResponse:
        """The collections the key may read (with something in them), as OpenAI models."""
        access = self._caller(request).access
        infos = await run_in_threadpool(self.assistant.readable_collections, access)
        data = [
            {
                "id": info.name,
                "object": "model",
                "created": int(info.created_at),
                "owned_by": "bllossom-rag",
            }
            for info in infos
        ]
        return JSONResponse({"object": "list", "data": data})

    async def chat(self, request: Request) -> Response:
        """``POST /v1/chat/completions``."""
        return await self.answer(lambda: self._chat(request))

    async def retrieve(self, request: Request) -> Response:
        """``POST /v1/retrieve``: ``{"query": <what was searched>, "sources": [...]}``."""
        return await self.answer(lambda: self._retrieve(request))

    # --- requests ----------------------------------------------------------------------------

    def _caller(self, request: Request) -> Caller:
        caller: Caller = request.state.caller
        return caller

    async def _collection(self, name: str | None, access: Access, field: str) -> str:
        """The readable collection a request names (in ``field``; default: settings).

        Raises:
            RequestError: 404 when the caller can read nothing there (or it does not exist:
                the two are not told apart, so a key cannot probe for names).

        """
        name = name or self.assistant.settings.collection
        readable = await run_in_threadpool(self.assistant.readable_collections, access)
        if name not in {info.name for info in readable}:
            msg = (
                f"{field}: the collection {name!r} does not exist or this key cannot read it; "
                "GET /v1/models lists the collections it can"
            )
            code = "model_not_found" if field == "model" else "collection_not_found"
            raise RequestError(404, msg, param=field, code=code)
        return name

    async def _admit(self, request: Request, deadline: float) -> tuple[Slot, asyncio.Future[None]]:
        """A slot for this request (fair between keys), and the watcher of its client.

        Raises:
            RequestError: 429 when the queue (or the key's share) is full, 503 when no slot
                came in time.
            ClientDisconnect: The client left while waiting.

        """
        watcher = asyncio.ensure_future(wait_for_disconnect(request.receive))
        try:
            slot = await self.admission.admit(
                watcher,
                deadline,
                timeout=self.options.timeout,
                server=SERVER,
                work="request",
                key=self._caller(request).name,
            )
        except BaseException:
            watcher.cancel()
            raise
        return slot, watcher

    async def _chat(self, request: Request) -> Response:
        self.readiness.check()
        options = self.options
        parsed = parse_request(
            await read_body(request, options.max_body_bytes, options.read_timeout, SERVER)
        )
        assert self.floor is not None  # the models are ready
        self.limits.check(parsed, self.floor)
        turn = chat_turn(parsed, self.assistant.turn_limits)
        caller = self._caller(request)
        collection = await self._collection(parsed.model, caller.access, "model")
        started = time.monotonic()

        def record(result: ChainResult) -> None:
            actor = Actor(caller.name, "api")
            self.assistant.record_answer(actor, collection, result, time.monotonic() - started)

        chain = self.assistant.chain(collection, access=caller.access, llm=self._model(parsed))
        answer = ChainAnswer(chain, turn, on_end=record, check=self.assistant.check_support)
        deadline = time.monotonic() + options.timeout
        slot, watcher = await self._admit(request, deadline)
        generation = self.launch(answer, watcher, slot)
        return await respond(
            generation,
            parsed,
            CompletionIds(collection),
            watcher,
            deadline,
            options.timeout,
            extra=answer.sources,
            closing=answer.checked,
        )

    def _model(self, parsed: ChatCompletionRequest) -> Any:
        """The configured generator with this request's sampling and stop strings."""
        llm = self.assistant.llm
        asked = parsed.max_new_tokens()
        overrides = sampling(
            llm,
            max_tokens=asked[1] if asked else None,
            temperature=parsed.temperature,
            top_p=parsed.top_p,
        )
        if parsed.stops:
            overrides["stop"] = parsed.stops
        return llm.bind(**overrides) if overrides else llm

    async def _retrieve(self, request: Request) -> Response:
        self.readiness.check()
        options = self.options
        parsed = parse_retrieve(
            await read_body(request, options.max_body_bytes, options.read_timeout, SERVER)
        )
        turn = parsed.turn(self.assistant.turn_limits)
        caller = self._caller(request)
        collection = await self._collection(parsed.collection, caller.access, "collection")
        retrieval = build_retrieval(
            self.assistant.retriever(collection, parsed.k, access=caller.access),
            self.assistant.followups,
        )
        started = time.monotonic()
        deadline = time.monotonic() + options.timeout
        # A search is CPU work (and an LLM rewrite a generation): it waits for a slot like a chat.
        slot, watcher = await self._admit(request, deadline)
        try:
            found = await on_thread(
                lambda _: retrieval.invoke(turn),
                watcher,
                deadline,
                on_end=lambda _: slot.release(),  # when the thread has really stopped
            )
        except TimeoutError:
            msg = f"the retrieval took longer than the {options.timeout:g} s timeout"
            raise RequestError(504, msg, kind="server_error", code="timeout") from None
        finally:
            watcher.cancel()
        result = ChainResult.of(found)
        await run_in_threadpool(
            self.assistant.record_answer,
            Actor(caller.name, "retrieve"),
            collection,
            result,
            time.monotonic() - started,
            action="retrieve",
        )
        return JSONResponse(
            {"query": result.query, "sources": [source_json(source) for source in result.sources]}
        )


def create_app(assistant: Assistant, options: ApiOptions) -> Starlette:
    """The RAG API around an assistant (its models warmed in the background at startup).

    Args:
        assistant: The configured assistant; shared by all requests.
        options: Keys and limits.

    """
    api = RagApi(assistant, options)
    mcp = McpEndpoint(api)
    app = service_app(
        api,
        [
            Route("/v1/chat/completions", api.chat, methods=["POST"]),
            Route("/v1/models", api.models, methods=["GET"]),
            Route("/v1/retrieve", api.retrieve, methods=["POST"]),
            Route("/health", api.health, methods=["GET"]),
            *SourceViewer(assistant).routes(),
            *document_routes(api),
            mcp.route(),
        ],
        [Middleware(RequireAPIKey, keyring=options.keyring(assistant.store))],
        read_timeout=options.read_timeout,
    )
    mcp.run_with(app)
    return app

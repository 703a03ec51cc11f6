"""An MCP server on the RAG API: agents and IDEs search and ask the knowledge base directly.

Built with the official ``mcp`` SDK and served over its streamable HTTP transport at ``/mcp``
on the RAG API's own port, behind the same key check as every other route: a tool sees exactly
what the calling key may read, never more. Three tools:

- ``search(query, collection?, k?)``: the passages a question retrieves, with their sources
  and relevance, as ``POST /v1/retrieve`` returns them;
- ``ask(question, collection?)``: an answer with its numbered sources;
- ``list_documents(collection?)``: the documents of a collection the key may read.

Searches and answers take one of the API's slots, fair between keys (a full queue is refused,
as a request is), and a question over ``[conversation] max_question_chars`` is refused before
any work. Transport sessions are stateless (every call stands alone, carrying its own key),
and answers are plain JSON responses; a failure is a tool error with its one-line message.
Every search and question is on the audit trail (surface ``mcp``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route

from rag.access.audit import Actor
from rag.access.keys import Caller
from rag.errors import BllossomRagError
from rag.generation.chain import build_retrieval
from rag.generation.result import AnswerStream, ChainResult
from serve.http.admission import QueueFullError

if TYPE_CHECKING:
    from serve.api.app import RagApi

PATH = "/mcp"
INSTRUCTIONS = (
    "Search and ask a Korean-English knowledge base. search returns cited passages; ask "
    "answers from them with [n] citations; list_documents lists what you may read. A "
    "collection is a set of documents (default: the server's)."
)


class KnowledgeTools:
    """The tools, over one RAG API (its assistant, access, slots and audit trail)."""

    def __init__(self, api: RagApi) -> None:
        self.api = api

    async def search(self, query: str, ctx: Context, collection: str = "", k: int = 5) -> dict:
        """Find the passages that answer a question, with their sources and relevance.

        Args:
            query: The question or keywords, in Korean or English.
            ctx: The request (its key decides what may be read).
            collection: The collection to search (default: the server's).
            k: How many passages, 1 to 20.

        """
        caller, name = await self._start(ctx, collection, query)
        assistant = self.api.assistant
        retrieval = build_retrieval(
            assistant.retriever(name, max(1, min(k, 20)), access=caller.access),
            assistant.followups,
            assistant.turn_limits,
        )
        started = time.monotonic()
        async with self._slot(caller):  # a search is CPU work: it waits its turn like a chat
            found = await run_in_threadpool(retrieval.invoke, {"question": query, "history": []})
        result = ChainResult.of(found)
        await self._record(caller, name, result, started, "retrieve")
        return {
            "collection": name,
            "query": result.query,
            "sources": [source.to_json() for source in result.sources],
        }

    async def ask(self, question: str, ctx: Context, collection: str = "") -> dict:
        """Answer a question from the documents, citing them as [n] (sources listed).

        Args:
            question: The question, in Korean or English.
            ctx: The request (its key decides what may be read).
            collection: The collection to answer from (default: the server's).

        """
        caller, name = await self._start(ctx, collection, question)
        chain = self.api.assistant.chain(name, access=caller.access)
        started = time.monotonic()
        async with self._slot(caller):
            result = await run_in_threadpool(AnswerStream(chain, {"question": question}).run)
        await self._record(caller, name, result, started, "answer")
        return {
            "collection": name,
            "answer": result.answer,
            "sources": [source.to_json() for source in result.sources],
        }

    async def list_documents(self, ctx: Context, collection: str = "") -> dict:
        """The documents of a collection that you may read.

        Args:
            ctx: The request (its key decides what may be read).
            collection: The collection (default: the server's).

        """
        caller = _caller(ctx)
        name = await self._readable(caller, collection)
        documents = await run_in_threadpool(self.api.assistant.store.documents, name, caller.access)
        return {
            "collection": name,
            "documents": [
                {
                    "id": d.id,
                    "source": d.source_path,
                    "chunks": d.chunks,
                    "ingested_at": d.ingested_at,
                }
                for d in documents
            ],
        }

    # --- parts -------------------------------------------------------------------------------

    async def _start(self, ctx: Context, collection: str, question: str) -> tuple[Caller, str]:
        """The caller and its readable collection, for a question within its limit."""
        if not self.api.readiness.ready:
            msg = "the models are still loading; retry in a moment (GET /health says when)"
            raise ToolError(msg)
        try:
            self.api.assistant.turn_limits.check_question(question)
        except BllossomRagError as error:
            raise ToolError(str(error)) from None
        caller = _caller(ctx)
        return caller, await self._readable(caller, collection)

    @contextlib.asynccontextmanager
    async def _slot(self, caller: Caller) -> AsyncIterator[None]:
        """One of the API's slots for the caller's work, fair between keys as for a request.

        The slot is given back when the work inside has ended (a thread is never abandoned
        holding none).
        """
        api = self.api
        try:
            slot = await asyncio.wait_for(api.admission.acquire(caller.name), api.options.timeout)
        except QueueFullError:
            msg = "the RAG API is busy (every slot taken, the queue full); retry shortly"
            raise ToolError(msg) from None
        except asyncio.TimeoutError:  # an alias of TimeoutError only from Python 3.11
            msg = f"no free slot within {api.options.timeout:g} s; retry later"
            raise ToolError(msg) from None
        try:
            yield
        except BllossomRagError as error:  # the user's to fix or retry: its one line, no trace
            raise ToolError(str(error)) from None
        finally:
            slot.release()

    async def _readable(self, caller: Caller, collection: str) -> str:
        name = collection or self.api.assistant.settings.collection
        readable = await run_in_threadpool(self.api.assistant.readable_collections, caller.access)
        if name not in {info.name for info in readable}:
            known = ", ".join(info.name for info in readable) or "none"
            msg = f"no collection {name!r} that this key can read (it can read: {known})"
            raise ToolError(msg)
        return name

    async def _record(
        self, caller: Caller, collection: str, result: ChainResult, started: float, action: Any
    ) -> None:
        try:
            await run_in_threadpool(
                self.api.assistant.record_answer,
                Actor(caller.name, "mcp"),
                collection,
                result,
                time.monotonic() - started,
                action=action,
            )
        except BllossomRagError as error:  # the answer was given: the trail's failure is logged
            self.api.log.error("could not record an MCP call on the audit trail: %s", error)


def _caller(ctx: Context) -> Caller:
    """The key's caller, left on the HTTP request by the API's key check."""
    request = ctx.request_context.request
    caller = getattr(getattr(request, "state", None), "caller", None)
    if not isinstance(caller, Caller):
        msg = "no API key was checked for this request"
        raise ToolError(msg)
    return caller


class McpEndpoint:
    """The MCP server of one RAG API: its route, and the session manager its app must run."""

    def __init__(self, api: RagApi) -> None:
        tools = KnowledgeTools(api)
        server: MCPServer[Any] = MCPServer(
            "bllossom-rag", instructions=INSTRUCTIONS, log_level="WARNING"
        )
        server.add_tool(tools.search, name="search")
        server.add_tool(tools.ask, name="ask")
        server.add_tool(tools.list_documents, name="list_documents")
        self.manager = StreamableHTTPSessionManager(
            app=server._lowlevel_server,  # the SDK's own app builder does the same
            stateless=True,
            json_response=True,
        )

    def route(self) -> Route:
        """``/mcp``: streamable HTTP (POST; GET and DELETE answer as the transport says)."""
        return Route(PATH, StreamableHTTPASGIApp(self.manager), methods=["GET", "POST", "DELETE"])

    def run_with(self, app: Starlette) -> None:
        """Run the session manager for as long as ``app`` runs (inside its own lifespan)."""
        inner = app.router.lifespan_context

        @contextlib.asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[None]:
            async with self.manager.run(), inner(app):
                yield

        app.router.lifespan_context = lifespan

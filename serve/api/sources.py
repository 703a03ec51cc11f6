"""The RAG API's source viewer: a cited passage in its document, its page, its original file.

Every source of ``/v1/chat/completions`` and ``/v1/retrieve`` carries two links (paths on this
server; resolve them against the API's base URL):

- ``url``: ``GET /v1/sources/{collection}/{id}``, the passage in context as JSON: ``text``,
  ``before``, ``after``, ``page``, ``heading``, ``path`` (relative to where it was ingested
  from), and ``page_image_url`` for a PDF page (a PNG of the page, the passage highlighted) or
  ``image_url`` for an image;
- ``document_url``: ``GET /v1/documents/{collection}/{document_id}/file``, the original file.

Each needs a key that may read the document. A key that may not gets the very answer an unknown
id gets (404, the same body), so nobody can probe for documents they cannot see. A readable
document whose file is gone or has changed since its ingest is 410: what was cited is no longer
there to hand out. Every opening goes on the audit trail (action ``open``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ingest.originals import Originals
from rag.access.audit import Actor
from rag.access.keys import Caller
from rag.assistant import Assistant
from rag.generation.result import Source
from rag.sources import Passage, open_passage, readable_document
from rag.store import DocumentRecord
from serve.http.protocol import RequestError

NOT_FOUND = "no such source, or this key may not read it"
GONE = "the original file is no longer what was ingested (moved, changed or deleted)"


def source_url(collection: str, chunk_id: str) -> str:
    """Where a passage is opened (``url``)."""
    return f"/v1/sources/{quote(collection, safe='')}/{quote(chunk_id, safe='')}"


def document_url(collection: str, document_id: str) -> str:
    """Where a document's original file is (``document_url``)."""
    return f"/v1/documents/{quote(collection, safe='')}/{quote(document_id, safe='')}/file"


def source_json(source: Source) -> dict[str, Any]:
    """A source as the API returns it: the ``ask --json`` shape with its two links."""
    return {
        **source.to_json(),
        "url": source_url(source.collection, source.id),
        "document_url": document_url(source.collection, source.document_id),
    }


class SourceViewer:
    """The routes that open sources, for one assistant.

    Args:
        assistant: Its store and settings.

    """

    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant
        self.originals = Originals.from_settings(assistant.settings)

    def routes(self) -> list[Route]:
        """The viewer's routes."""
        return [
            Route("/v1/sources/{collection}/{chunk_id}", self.passage, methods=["GET"]),
            Route("/v1/sources/{collection}/{chunk_id}/page.png", self.page, methods=["GET"]),
            Route("/v1/sources/{collection}/{chunk_id}/image.png", self.image, methods=["GET"]),
            Route("/v1/documents/{collection}/{document_id}/file", self.file, methods=["GET"]),
        ]

    async def passage(self, request: Request) -> Response:
        """The passage in context, with the links that open the rest."""
        return await _answered(lambda: self._passage(request))

    async def page(self, request: Request) -> Response:
        """A PDF passage's page as a PNG, the passage highlighted."""
        return await _answered(lambda: self._page(request))

    async def image(self, request: Request) -> Response:
        """An image passage's stored image."""
        return await _answered(lambda: self._image(request))

    async def file(self, request: Request) -> Response:
        """A document's original file, as it was ingested."""
        return await _answered(lambda: self._file(request))

    # --- in the thread pool ------------------------------------------------------------------

    def _opened(self, request: Request, what: str) -> Passage:
        """The request's passage, if its caller may read it (else the one 404), recorded."""
        caller: Caller = request.state.caller
        collection = request.path_params["collection"]
        found = open_passage(
            self.assistant.store, collection, request.path_params["chunk_id"], caller.access
        )
        if found is None:
            raise RequestError(404, NOT_FOUND, code="source_not_found")
        self._record(caller, found.document, what, found.chunk.id)
        return found

    def _passage(self, request: Request) -> Response:
        found = self._opened(request, "passage")
        chunk = found.chunk
        body = found.to_json()
        body["url"] = source_url(chunk.collection, chunk.id)
        body["document_url"] = document_url(chunk.collection, chunk.document_id)
        if found.page_image:
            body["page_image_url"] = body["url"] + "/page.png"
        if chunk.kind == "image" and chunk.image_sha256:
            body["image_url"] = body["url"] + "/image.png"
        return JSONResponse(body)

    def _page(self, request: Request) -> Response:
        found = self._opened(request, "page")
        if not found.page_image or found.chunk.page is None:
            raise RequestError(404, "this source has no page to show", code="no_page")
        png = self.originals.page_png(found.document, found.chunk.page, found.boxes)
        if png is None:
            raise RequestError(410, GONE, code="original_unavailable")
        return Response(png, media_type="image/png", headers=_private())

    def _image(self, request: Request) -> Response:
        found = self._opened(request, "image")
        sha = found.chunk.image_sha256
        if found.chunk.kind != "image" or not sha:
            raise RequestError(404, "this source is not an image", code="no_image")
        try:
            data = self.assistant.store.images.path(sha).read_bytes()
        except OSError:
            raise RequestError(410, GONE, code="original_unavailable") from None
        return Response(data, media_type="image/png", headers=_private())

    def _file(self, request: Request) -> Response:
        caller: Caller = request.state.caller
        document = readable_document(
            self.assistant.store,
            request.path_params["collection"],
            request.path_params["document_id"],
            caller.access,
        )
        if document is None:
            raise RequestError(404, NOT_FOUND, code="source_not_found")
        data = self.originals.read(document)
        if data is None:
            raise RequestError(410, GONE, code="original_unavailable")
        self._record(caller, document, "file", None)
        name = document.shown_path.rsplit("/", 1)[-1]
        headers = {
            **_private(),
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name, safe='')}",
        }
        return Response(data, media_type="application/octet-stream", headers=headers)

    def _record(
        self, caller: Caller, document: DocumentRecord, what: str, chunk_id: str | None
    ) -> None:
        detail = {"what": what, **({"chunk": chunk_id} if chunk_id else {})}
        self.assistant.record_opened(
            Actor(caller.name, "api"), document.collection, document.id, detail
        )


def _private() -> dict[str, str]:
    """Headers for content only its reader may see: no shared cache keeps it."""
    return {"Cache-Control": "private, no-store"}


async def _answered(handle: Callable[[], Response]) -> Response:
    """Run a blocking handler on the thread pool; a refusal is its JSON error."""
    try:
        return await run_in_threadpool(handle)
    except RequestError as error:
        return error.response()

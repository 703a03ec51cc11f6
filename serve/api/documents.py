"""The document API: other systems push, list and delete documents of a collection.

- ``POST /v1/collections/{c}/documents``: a multipart upload, the file in the field ``file``,
  and optionally ``groups`` (comma-separated, each one of the key's own; none: everyone). The
  collection is created by its first document. 201 with the document when it was ingested, 200
  when it was already there unchanged, 422 with the one-line reason when the file was refused
  (its content checks and limits are the command line's). Needs a key with the write scope.
- ``GET /v1/collections/{c}/documents``: the documents the key may read.
- ``DELETE /v1/collections/{c}/documents/{id}``: removes a document the key may read (and the
  uploaded file); needs the write scope.

Every push goes through :class:`~ingest.uploads.Uploads`, the one upload policy the web app
follows too: a clean name in a folder per set of groups, staged and written in place only after
its ingest succeeded, uploads into a collection one at a time (so concurrent pushes are safe).
A key that may not write gets 403; a collection or document the key cannot read is 404, told
apart from nothing else. Pushes and deletions are on the audit trail (``document``).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Message as AsgiMessage

from ingest.uploads import UploadResult, Uploads
from rag.access import parse_groups
from rag.access.audit import Actor, AuditEntry
from rag.access.keys import Caller
from rag.errors import BllossomRagError, CollectionNotFoundError, DocumentNotFoundError
from rag.store import DocumentRecord, validate_collection_name
from serve.http.middleware import read_body
from serve.http.protocol import RequestError

if TYPE_CHECKING:
    from serve.api.app import RagApi

PATH = "/v1/collections/{collection}/documents"
SERVER = "RAG API"


class DocumentRoutes:
    """The document routes of one RAG API.

    Args:
        api: The RAG API (its assistant, options, readiness and callers).

    """

    def __init__(self, api: RagApi) -> None:
        self.api = api

    def routes(self) -> list[Route]:
        """The routes to serve."""
        return [
            Route(PATH, self.listing, methods=["GET"]),
            Route(PATH, self.push, methods=["POST"]),
            Route(PATH + "/{document_id}", self.delete, methods=["DELETE"]),
        ]

    def uploads(self, collection: str) -> Uploads:
        """The upload policy over the API's store, ingesting with ``collection``'s embedder."""
        from ingest.pipeline import Ingestor

        assistant = self.api.assistant

        def ingestor() -> Ingestor:
            return Ingestor.from_settings(
                assistant.settings,
                assistant.store,
                assistant.embeddings_for(collection),
                llm=lambda: assistant.llm,
            )

        return Uploads(assistant.store, assistant.settings.data_dir, ingestor)

    # --- routes ------------------------------------------------------------------------------

    async def listing(self, request: Request) -> Response:
        """``GET``: the documents of the collection the key may read."""
        return await self.api.answer(lambda: self._listing(request))

    async def push(self, request: Request) -> Response:
        """``POST``: ingest the file of the field ``file``."""
        return await self.api.answer(lambda: self._push(request))

    async def delete(self, request: Request) -> Response:
        """``DELETE``: remove a document."""
        return await self.api.answer(lambda: self._delete(request))

    async def _listing(self, request: Request) -> Response:
        caller = _caller(request)
        collection = _collection(request)
        try:
            documents = await run_in_threadpool(
                self.api.assistant.store.documents, collection, caller.access
            )
        except CollectionNotFoundError:
            raise _no_collection(collection) from None
        if not documents:
            raise _no_collection(collection)  # nothing readable: whether it exists is not said
        return JSONResponse({"object": "list", "data": [_document_json(d) for d in documents]})

    async def _push(self, request: Request) -> Response:
        caller = _writer(request)
        collection = _collection(request)
        self.api.readiness.check()
        options = self.api.options
        body = await read_body(request, options.max_body_bytes, options.read_timeout, SERVER)
        name, data, groups = await _form(request, body)
        foreign = sorted(set(groups) - caller.access.groups)
        if foreign and not caller.access.everything:
            msg = f"groups must be among this key's own; not: {', '.join(foreign)}"
            raise RequestError(403, msg, param="groups", code="group_not_allowed")
        result = await run_in_threadpool(self._ingest, caller, collection, name, data, groups)
        if result.status == "failed":
            msg = f"{name}: {result.error}"
            raise RequestError(422, msg, param="file", code="document_refused")
        document = self._stored(collection, result)
        self._record(caller, collection, "pushed", document, result.status)
        status = 201 if result.status == "ingested" else 200
        return JSONResponse({**_document_json(document), "status": result.status}, status)

    async def _delete(self, request: Request) -> Response:
        caller = _writer(request)
        collection = _collection(request)
        document_id = request.path_params["document_id"]
        try:
            found, _ = await run_in_threadpool(
                self.uploads(collection).remove, collection, document_id, caller.access
            )
        except (CollectionNotFoundError, DocumentNotFoundError):
            msg = f"no document {document_id!r} in {collection!r} that this key can read"
            raise RequestError(404, msg, param="document_id", code="document_not_found") from None
        self._record(caller, collection, "deleted", found, "deleted")
        return JSONResponse({"id": found.id, "object": "document", "deleted": True})

    # --- parts -------------------------------------------------------------------------------

    def _ingest(
        self, caller: Caller, collection: str, name: str, data: bytes, groups: list[str]
    ) -> UploadResult:
        try:
            [result] = self.uploads(collection).ingest(
                [(name, data)],
                collection=collection,
                groups=groups,
                access=caller.access,
                actor=_actor(caller),
            )
        except BllossomRagError as error:
            raise RequestError(400, str(error), param="file") from None
        return result

    def _stored(self, collection: str, result: UploadResult) -> DocumentRecord:
        assert result.path is not None  # an ingested or unchanged upload has its path
        [document] = self.api.assistant.store.documents_by_path(collection, result.path)
        return document

    def _record(
        self, caller: Caller, collection: str, change: str, document: DocumentRecord, status: str
    ) -> None:
        actor = _actor(caller)
        self.api.assistant.audit.record(
            AuditEntry(
                time=time.time(),
                who=actor.who,
                surface=actor.surface,
                action="document",
                collection=collection,
                documents=(document.id,),
                detail={"change": change, "status": status, "groups": list(document.groups)},
            )
        )


def document_routes(api: RagApi) -> list[Route]:
    """The document API's routes for ``api``."""
    return DocumentRoutes(api).routes()


def _caller(request: Request) -> Caller:
    caller: Caller = request.state.caller
    return caller


def _actor(caller: Caller) -> Actor:
    return Actor(caller.name, "api")


def _writer(request: Request) -> Caller:
    """The caller, when its key may write."""
    caller = _caller(request)
    if not caller.may("write"):
        msg = (
            "this key may only read: pushing and deleting documents needs a key with the "
            "write scope (bllossom-rag keys create NAME --scopes read,write)"
        )
        raise RequestError(403, msg, kind="permission_error", code="insufficient_scope")
    return caller


def _collection(request: Request) -> str:
    name = str(request.path_params["collection"])
    try:
        return validate_collection_name(name)
    except BllossomRagError as error:
        raise RequestError(400, str(error), param="collection") from None


def _no_collection(name: str) -> RequestError:
    msg = (
        f"the collection {name!r} does not exist or this key cannot read anything in it; "
        "GET /v1/models lists the collections it can"
    )
    return RequestError(404, msg, param="collection", code="collection_not_found")


async def _form(request: Request, body: bytes) -> tuple[str, bytes, list[str]]:
    """The pushed file's name and bytes, and the groups asked for, from a multipart body.

    Raises:
        RequestError: 400 when the body is not multipart or has no file in ``file``.

    """
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        msg = "send the document as multipart/form-data, the file in the field 'file'"
        raise RequestError(400, msg, param="file")
    sent = False

    async def replay() -> AsgiMessage:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(request.scope, replay).form(max_files=1, max_fields=8)
    except MultiPartException as error:
        msg = f"the multipart body cannot be read: {error.message}"
        raise RequestError(400, msg, param="file") from None
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        msg = "no file in the multipart field 'file' (with a file name)"
        raise RequestError(400, msg, param="file")
    data = await upload.read()
    groups_field = form.get("groups")
    groups = parse_groups(groups_field) if isinstance(groups_field, str) else []
    await form.close()
    return upload.filename, data, groups


def _document_json(document: DocumentRecord) -> dict[str, Any]:
    return {
        "id": document.id,
        "object": "document",
        "collection": document.collection,
        "source": document.source_path,
        "chunks": document.chunks,
        "size": document.size,
        "groups": list(document.groups),
        "ingested_at": document.ingested_at,
    }

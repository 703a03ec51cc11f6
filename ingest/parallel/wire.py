"""What the ingest workers and the parent say to each other: JSON lines, never a pickle.

A worker parses files that may be hostile, so what it sends back is read as untrusted input:
plain JSON, checked field by field, vectors as base64 float32 of the embedder's dimension. A
compromised worker can send wrong documents, never run code in the parent.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any, cast, get_args

import numpy as np

from ingest.discovery import Candidate
from ingest.groups import GroupChange
from ingest.report import FileDetail, FileFailure, IngestReport
from rag.errors import Message
from rag.store import DocumentRecord, DocumentUpdate, NewChunk
from rag.store.records import GroupsOrigin, PageLayout


class WireError(ValueError):
    """A worker's answer is not what the protocol says."""


def candidate_json(candidate: Candidate) -> dict[str, str | None]:
    """A file to ingest, as a job names it (files with an error never go to a worker)."""
    return {
        "path": str(candidate.path),
        "sidecar": None if candidate.sidecar is None else str(candidate.sidecar),
        "key": candidate.key,
        "recorded_as": None if candidate.recorded_as is None else str(candidate.recorded_as),
    }


def candidate_of(item: dict[str, Any]) -> Candidate:
    """The file a job names."""
    sidecar, recorded_as = item.get("sidecar"), item.get("recorded_as")
    return Candidate(
        Path(item["path"]),
        sidecar=None if sidecar is None else Path(sidecar),
        key=str(item.get("key", "")),
        recorded_as=None if recorded_as is None else Path(recorded_as),
    )


def update_json(update: DocumentUpdate) -> dict[str, Any]:
    """A document and its chunks, vectors as base64 float32."""
    doc = update.document
    return {
        "document": {
            "id": doc.id,
            "collection": doc.collection,
            "source_path": doc.source_path,
            "content_sha256": doc.content_sha256,
            "size": doc.size,
            "mtime": doc.mtime,
            "groups": list(doc.groups),
            "groups_origin": doc.groups_origin,
            "groups_rule": doc.groups_rule,
            "relative_path": doc.relative_path,
        },
        "chunks": [
            {
                "id": chunk.id,
                "ordinal": chunk.ordinal,
                "text": chunk.text,
                "tokens": chunk.tokens,
                "vector": base64.b64encode(np.asarray(chunk.vector, np.float32).tobytes()).decode(),
                "page": chunk.page,
                "kind": chunk.kind,
                "image_sha256": chunk.image_sha256,
                "heading": chunk.heading,
            }
            for chunk in update.chunks
        ],
        "layouts": [{"page": layout.page, "words": layout.to_json()} for layout in update.layouts],
    }


def update_of(item: object, collection: str, dimension: int) -> DocumentUpdate:
    """A worker's document, checked: its collection, its fields' types, its vectors' size.

    Raises:
        WireError: It is not a well-formed document of ``collection``.

    """
    try:
        data = cast("dict[str, Any]", item)
        doc = data["document"]
        document = DocumentRecord(
            id=_text(doc["id"]),
            collection=_text(doc["collection"]),
            source_path=_text(doc["source_path"]),
            content_sha256=_text(doc["content_sha256"]),
            size=int(doc["size"]),
            mtime=float(doc["mtime"]),
            groups=tuple(_text(g) for g in doc["groups"]),
            groups_origin=doc["groups_origin"],
            groups_rule=None if doc["groups_rule"] is None else _text(doc["groups_rule"]),
            relative_path=_text(doc["relative_path"]),
        )
        chunks = [_chunk_of(chunk, dimension) for chunk in data["chunks"]]
        layouts = tuple(_layout_of(layout) for layout in data["layouts"])
    except (KeyError, TypeError, ValueError) as error:
        msg = f"a worker sent a malformed document: {error}"
        raise WireError(msg) from None
    if document.collection != collection or document.groups_origin not in get_args(GroupsOrigin):
        msg = f"a worker sent a document of another collection: {document.source_path}"
        raise WireError(msg)
    return DocumentUpdate(document, chunks, layouts)


def _layout_of(layout: dict[str, Any]) -> PageLayout:
    page = int(layout["page"])
    if page < 1:
        msg = f"a page layout of page {page}"
        raise ValueError(msg)
    return PageLayout.from_json(page, _text(layout["words"]))


def _chunk_of(chunk: dict[str, Any], dimension: int) -> NewChunk:
    vector = np.frombuffer(base64.b64decode(chunk["vector"], validate=True), dtype=np.float32)
    if vector.shape != (dimension,) or not np.isfinite(vector).all():
        msg = f"a vector of {vector.size} values where the embedder makes {dimension}"
        raise ValueError(msg)
    kind = chunk["kind"]
    if kind not in ("text", "image"):
        msg = f"a chunk of kind {kind!r}"
        raise ValueError(msg)
    page = chunk["page"]
    image = chunk["image_sha256"]
    return NewChunk(
        id=_text(chunk["id"]),
        ordinal=int(chunk["ordinal"]),
        text=_text(chunk["text"]),
        tokens=int(chunk["tokens"]),
        vector=vector.copy(),
        page=None if page is None else int(page),
        kind=kind,
        image_sha256=None if image is None else _text(image),
        heading=_text(chunk["heading"]),
    )


def _text(value: object) -> str:
    if not isinstance(value, str):
        msg = f"{value!r} is not text"
        raise TypeError(msg)
    return value


def report_json(report: IngestReport) -> dict[str, Any]:
    """Everything the parent merges of a job's report (pruning and skipped files are its own)."""
    return {
        "ingested": report.ingested,
        "unchanged": report.unchanged,
        "failed": [{"path": f.path, "error": f.error.to_json()} for f in report.failed],
        "chunks_embedded": report.chunks_embedded,
        "chunks_reused": report.chunks_reused,
        "details": {
            path: {
                "chunks": detail.chunks,
                "images": detail.images,
                "notes": [note.to_json() for note in detail.notes],
                "moved_from": detail.moved_from,
            }
            for path, detail in report.details.items()
        },
        "notices": report.notices,
        "access_changes": [change.to_json() for change in report.access_changes],
    }


def merge_report(into: IngestReport, item: object) -> None:
    """Add a job's report to the run's.

    Raises:
        WireError: It is not a well-formed report.

    """
    try:
        data = cast("dict[str, Any]", item)
        into.ingested.extend(_text(path) for path in data["ingested"])
        into.unchanged.extend(_text(path) for path in data["unchanged"])
        into.failed.extend(
            FileFailure(_text(f["path"]), Message.from_json(f["error"])) for f in data["failed"]
        )
        into.chunks_embedded += int(data["chunks_embedded"])
        into.chunks_reused += int(data["chunks_reused"])
        for path, detail in data["details"].items():
            into.details[_text(path)] = FileDetail(
                int(detail["chunks"]),
                int(detail["images"]),
                tuple(Message.from_json(note) for note in detail["notes"]),
                None if detail["moved_from"] is None else _text(detail["moved_from"]),
            )
        into.notice(*(_text(notice) for notice in data["notices"]))
        into.access_changes.extend(
            GroupChange(
                _text(c["path"]),
                _text(c["id"]),
                tuple(_text(g) for g in c["before"]),
                tuple(_text(g) for g in c["after"]),
                c["origin"],
                None if c["rule"] is None else _text(c["rule"]),
            )
            for c in data["access_changes"]
        )
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        msg = f"a worker sent a malformed report: {error}"
        raise WireError(msg) from None


def failed_job(into: IngestReport, files: list[Candidate], reason: str) -> None:
    """Every file of a job that did not come back, failed with one line."""
    into.failed.extend(FileFailure(str(c.source), Message(reason)) for c in files)

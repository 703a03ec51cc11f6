"""A cited passage in its document: what a person opens from a source.

A source names its chunk (``id``) in its collection. :func:`open_passage` reads that chunk back
with what surrounds it: the passages before and after it in reading order, its heading path,
its page, every passage on that page (a slide's title, text, notes and pictures), and for a PDF
page the boxes that print it (:mod:`rag.sources.highlight`, from the layout stored at ingest).
It checks the reader's access first: a chunk of a document they may not read is answered
exactly like a chunk that does not exist (None), so nobody learns what they cannot see.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from rag.access import Access
from rag.errors import BllossomRagError
from rag.sources.highlight import Box, passage_boxes
from rag.store import DocumentRecord, DocumentStore, StoredChunk, validate_collection_name


@dataclass(frozen=True)
class Passage:
    """A chunk with its document and what surrounds it.

    Attributes:
        chunk: The cited chunk.
        document: Its document.
        before: The text passage before it in reading order, if any.
        after: The text passage after it, if any.
        page_chunks: Every chunk on its page, in reading order (none without a page).
        boxes: Where it is printed on its page (PDF pages with a stored layout), line by line.

    """

    chunk: StoredChunk
    document: DocumentRecord
    before: StoredChunk | None = None
    after: StoredChunk | None = None
    page_chunks: tuple[StoredChunk, ...] = ()
    boxes: tuple[Box, ...] = ()

    @property
    def format(self) -> str:
        """The file's type by its name (``pdf``, ``md``, ``pptx``...; empty when it has none)."""
        return PurePath(self.document.shown_path).suffix.lower().lstrip(".")

    @property
    def page_image(self) -> bool:
        """Whether its page can be shown as an image: a PDF page."""
        return self.format == "pdf" and self.chunk.page is not None

    def to_json(self) -> dict[str, Any]:
        """What a viewer shows (the edges add the links that open the rest)."""
        chunk = self.chunk
        return {
            "id": chunk.id,
            "collection": chunk.collection,
            "document_id": chunk.document_id,
            "path": self.document.shown_path,
            "format": self.format,
            "kind": chunk.kind,
            "page": chunk.page,
            "heading": chunk.heading or None,
            "text": chunk.text,
            "before": self.before.text if self.before else None,
            "after": self.after.text if self.after else None,
            "highlight": [list(box) for box in self.boxes],
        }


def readable_document(
    store: DocumentStore, collection: str, document_id: str, access: Access
) -> DocumentRecord | None:
    """The document, if it exists and ``access`` may read it (else None, either way)."""
    try:
        name = validate_collection_name(collection)
    except BllossomRagError:
        return None
    document = store.document(name, document_id)
    if document is None or not access.can_read(document.groups):
        return None
    return document


def open_passage(
    store: DocumentStore, collection: str, chunk_id: str, access: Access
) -> Passage | None:
    """The chunk ``chunk_id`` in its document, or None when it does not exist or is not readable.

    The two are one answer, so the caller cannot tell a hidden chunk from a missing one.
    """
    try:
        name = validate_collection_name(collection)
    except BllossomRagError:
        return None
    chunk = store.chunk(name, chunk_id)
    if chunk is None:
        return None
    document = readable_document(store, name, chunk.document_id, access)
    if document is None:
        return None
    chunks = store.document_chunks(name, chunk.document_id)
    texts = [c for c in chunks if c.kind == "text"]
    before = next((c for c in reversed(texts) if c.ordinal < chunk.ordinal), None)
    after = next((c for c in texts if c.ordinal > chunk.ordinal), None)
    page = chunk.page
    on_page = tuple(c for c in chunks if page is not None and c.page == page)
    boxes: tuple[Box, ...] = ()
    if page is not None and chunk.kind == "text":
        layouts = store.page_layouts(name, chunk.document_id, page)
        if layouts:
            boxes = tuple(passage_boxes(chunk.text, layouts[0]))
    return Passage(chunk, document, before, after, on_page, boxes)

"""The source viewer's calls: a cited passage in its document, its page, its original file.

Every call reads with the signed-in person's access (:func:`rag.sources.open_passage`): a source
they may not read is the same None as one that does not exist. Each opening goes on the audit
trail. Page images are rendered in the isolated child (:mod:`ingest.originals`) and kept for the
session's reruns (a dialog reruns the page).
"""

from __future__ import annotations

import streamlit as st

from ingest.originals import Originals
from rag.access import Access
from rag.access.audit import Actor
from rag.assistant import Assistant
from rag.generation.result import ChainResult
from rag.generation.support import SentenceSupport
from rag.sources import Box, Passage, open_passage
from rag.store import DocumentRecord, StoredChunk


def open_source(
    assistant: Assistant, collection: str, chunk_id: str, access: Access, actor: Actor
) -> Passage | None:
    """The passage in its document, if it exists and ``access`` may read it (recorded)."""
    found = open_passage(assistant.store, collection, chunk_id, access)
    if found is not None:
        opened = {"what": "passage", "chunk": chunk_id}
        assistant.record_opened(actor, collection, found.document.id, opened)
    return found


def page_image(assistant: Assistant, passage: Passage) -> bytes | None:
    """The passage's PDF page as a PNG with the passage highlighted (None: file unavailable)."""
    if not passage.page_image or passage.chunk.page is None:
        return None
    document = passage.document
    return _page_png(
        assistant, document, document.content_sha256, passage.chunk.page, passage.boxes
    )


@st.cache_data(max_entries=32, show_spinner=False)
def _page_png(
    _assistant: Assistant,
    _document: DocumentRecord,
    fingerprint: str,
    page: int,
    boxes: tuple[Box, ...],
) -> bytes | None:
    """Rendered once per document version, page and highlight (the keyed arguments)."""
    return Originals.from_settings(_assistant.settings).page_png(_document, page, boxes)


def original(assistant: Assistant, document: DocumentRecord) -> bytes | None:
    """The original file's bytes, while the file is what was ingested."""
    return Originals.from_settings(assistant.settings).read(document)


def stored_image(assistant: Assistant, chunk: StoredChunk) -> bytes | None:
    """An image passage's stored copy."""
    if chunk.image_sha256 is None:
        return None
    try:
        return assistant.store.images.path(chunk.image_sha256).read_bytes()
    except OSError:
        return None


def check_support(assistant: Assistant, result: ChainResult) -> list[SentenceSupport]:
    """The answer's cited sentences checked against their passages."""
    return assistant.check_support(result)

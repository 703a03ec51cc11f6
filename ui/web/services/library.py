"""The Library's calls: list and delete documents, ingest uploads (through :mod:`ingest.uploads`).

The rules of an upload (who may replace what, which groups may be chosen, staging, the atomic
replace) live in :mod:`ingest.uploads`, the one implementation every upload route calls; this
page only supplies the store, the uploads folder and the ingestor, and words the results.
"""

from __future__ import annotations

from collections.abc import Sequence

from ingest.report import ProgressCallback
from ingest.uploads import UploadResult, ingest_uploads, remove_upload
from rag.access import Access
from rag.assistant import Assistant
from rag.store import CommitResult, DocumentRecord


def upload_types() -> list[str]:
    """File types the ingestion pipeline reads (for the uploader's filter)."""
    from ingest.formats import SUPPORTED_SUFFIXES

    return sorted(suffix.lstrip(".") for suffix in SUPPORTED_SUFFIXES)


def documents(assistant: Assistant, collection: str, access: Access) -> list[DocumentRecord]:
    """The documents of ``collection`` that ``access`` may read."""
    return assistant.store.documents(collection, access)


def remove_document(
    assistant: Assistant, collection: str, document_id: str, access: Access
) -> tuple[DocumentRecord, CommitResult]:
    """Delete a document the user can see, and its uploaded file if the app saved it."""
    return remove_upload(
        assistant.store, assistant.settings.data_dir, collection, document_id, access
    )


def upload(
    assistant: Assistant,
    files: Sequence[tuple[str, bytes]],
    *,
    collection: str,
    groups: Sequence[str],
    access: Access,
    on_progress: ProgressCallback | None = None,
) -> list[UploadResult]:
    """Ingest the browser's files into ``collection`` for ``groups`` (see :mod:`ingest.uploads`).

    Raises:
        BllossomRagError: A chosen group is not the uploader's, or the collection is invalid.

    """
    from ingest.pipeline import Ingestor

    def ingestor() -> Ingestor:
        return Ingestor.from_settings(
            assistant.settings, assistant.store, assistant.embeddings, llm=lambda: assistant.llm
        )

    return ingest_uploads(
        assistant.store,
        assistant.settings.data_dir,
        ingestor,
        files,
        collection=collection,
        groups=groups,
        access=access,
        on_progress=on_progress,
    )

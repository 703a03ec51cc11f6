"""The Library's calls: list and delete documents, ingest uploads (through :mod:`ingest.uploads`).

The rules of an upload (who may replace what, which groups may be chosen, staging, the atomic
replace) live in :mod:`ingest.uploads`, the one implementation every upload route calls; this
page only supplies the store, the uploads folder and the ingestor, and words the results.
"""

from __future__ import annotations

from ingest.uploads import Uploads
from rag.access import Access
from rag.assistant import Assistant
from rag.store import DocumentRecord


def upload_types() -> list[str]:
    """File types the ingestion pipeline reads (for the uploader's filter)."""
    from ingest.formats import SUPPORTED_SUFFIXES

    return sorted(suffix.lstrip(".") for suffix in SUPPORTED_SUFFIXES)


def documents(assistant: Assistant, collection: str, access: Access) -> list[DocumentRecord]:
    """The documents of ``collection`` that ``access`` may read."""
    return assistant.store.documents(collection, access)


def uploads(assistant: Assistant) -> Uploads:
    """The uploads of the app's store (see :mod:`ingest.uploads`); nothing loads until used."""
    from ingest.pipeline import Ingestor

    def ingestor() -> Ingestor:
        return Ingestor.from_settings(
            assistant.settings, assistant.store, assistant.embeddings, llm=lambda: assistant.llm
        )

    return Uploads(assistant.store, assistant.settings.data_dir, ingestor)

"""The Library's calls: list and delete documents, ingest uploads (through :mod:`ingest.uploads`).

The rules of an upload (who may replace what, which groups may be chosen, staging, the atomic
replace) live in :mod:`ingest.uploads`, the one implementation every upload route calls; this
page only supplies the store, the uploads folder and the ingestor, and words the results.
"""

from __future__ import annotations

from pathlib import Path

from ingest.uploads import Uploads
from rag.access import Access
from rag.assistant import Assistant
from rag.store import DocumentRecord


def upload_types(*, legacy: bool = False) -> list[str]:
    """File types the ingestion pipeline reads (for the uploader's filter).

    ``legacy`` adds the old Office types (``.doc``...): taken, so that the upload is refused
    with the pipeline's "save it as .docx" rather than dropped by the browser without a word.
    """
    from ingest.formats import LEGACY_SUFFIXES, SUPPORTED_SUFFIXES

    suffixes = set(SUPPORTED_SUFFIXES) | (set(LEGACY_SUFFIXES) if legacy else set())
    return sorted(suffix.lstrip(".") for suffix in suffixes)


def with_caption(files: list[tuple[str, bytes]], caption: str) -> list[tuple[str, bytes]]:
    """The uploads, plus ``caption`` as the caption file of each image uploaded without one."""
    from ingest.discovery import SIDECAR_SUFFIX
    from ingest.formats import IMAGE_SUFFIXES

    caption = caption.strip()
    if not caption:
        return files
    names = {name for name, _ in files}
    captions = [
        (name + SIDECAR_SUFFIX, caption.encode())
        for name, _ in files
        if Path(name).suffix.lower() in IMAGE_SUFFIXES and name + SIDECAR_SUFFIX not in names
    ]
    return files + captions


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

"""What more than one page asks the store: the collections a user may see, a document's name."""

from __future__ import annotations

from pathlib import Path

from rag.access import Access
from rag.assistant import Assistant
from rag.store import CollectionInfo


def readable_collections(assistant: Assistant, access: Access) -> list[CollectionInfo]:
    """The collections holding something the user may read (see the assistant's own)."""
    return assistant.readable_collections(access)


def display_name(source_path: str) -> str:
    """A document's file name (its path from the ingest root is in the library table)."""
    return Path(source_path).name

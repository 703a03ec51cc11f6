"""What more than one page asks the store: the collections a user may see, a document's name."""

from __future__ import annotations

from pathlib import Path

from rag.access import Access
from rag.assistant import Assistant
from rag.store import CollectionInfo


def readable_collections(assistant: Assistant, access: Access) -> list[CollectionInfo]:
    """The collections holding something ``access`` may read, with the counts of that.

    A collection whose every document is restricted to other groups is not listed at all:
    its name, size and embedder are metadata about documents the user may not see.
    """
    return [info for info in assistant.store.collections(access) if info.documents]


def display_name(source_path: str) -> str:
    """A document's file name (the full path is in the library table)."""
    return Path(source_path).name

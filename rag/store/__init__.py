"""The store: SQLite is the source of truth, search indexes are rebuildable views."""

from rag.store.images import ImageFiles
from rag.store.records import (
    ChunkKind,
    CollectionInfo,
    CommitRecord,
    CommitResult,
    DocumentRecord,
    DocumentUpdate,
    NewChunk,
    SearchHit,
    StoredChunk,
)
from rag.store.store import Store, validate_collection_name

__all__ = [
    "ChunkKind",
    "CollectionInfo",
    "CommitRecord",
    "CommitResult",
    "DocumentRecord",
    "DocumentUpdate",
    "ImageFiles",
    "NewChunk",
    "SearchHit",
    "Store",
    "StoredChunk",
    "validate_collection_name",
]

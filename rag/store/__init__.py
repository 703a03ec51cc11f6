"""The store: SQLite is the source of truth, search indexes are rebuildable views."""

from rag.store.dense_index import IndexPolicy
from rag.store.images import ImageFiles
from rag.store.records import (
    Candidates,
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
from rag.store.sparse_index import KeywordQuery
from rag.store.store import Store, validate_collection_name

__all__ = [
    "Candidates",
    "ChunkKind",
    "CollectionInfo",
    "CommitRecord",
    "CommitResult",
    "DocumentRecord",
    "DocumentUpdate",
    "ImageFiles",
    "IndexPolicy",
    "KeywordQuery",
    "NewChunk",
    "SearchHit",
    "Store",
    "StoredChunk",
    "validate_collection_name",
]

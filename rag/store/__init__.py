"""The store: one interface, two backends (embedded SQLite + views; PostgreSQL + pgvector)."""

from rag.store.base import DocumentStore, ImageStore
from rag.store.dense_index import IndexPolicy
from rag.store.factory import open_store
from rag.store.image_files import ImageFiles
from rag.store.records import (
    Candidates,
    ChunkKind,
    CollectionInfo,
    CommitRecord,
    CommitResult,
    DocumentRecord,
    DocumentUpdate,
    KeywordQuery,
    NewChunk,
    PageLayout,
    SearchHit,
    StoredChunk,
    WordBox,
)
from rag.store.store import Store, validate_collection_name

__all__ = [
    "Candidates",
    "ChunkKind",
    "CollectionInfo",
    "CommitRecord",
    "CommitResult",
    "DocumentRecord",
    "DocumentStore",
    "DocumentUpdate",
    "ImageFiles",
    "ImageStore",
    "IndexPolicy",
    "KeywordQuery",
    "NewChunk",
    "PageLayout",
    "SearchHit",
    "Store",
    "StoredChunk",
    "WordBox",
    "open_store",
    "validate_collection_name",
]

"""Our store as a LangChain ``VectorStore``, for code written against LangChain's interface.

Each LangChain ``Document`` becomes one store document holding one chunk, both keyed by the
document's id, with its ``metadata`` kept as JSON (so it comes back exactly as given) and its vector
in SQLite like any ingested chunk. Everything else follows from the store: the FAISS view catches
up, nothing is pickled, and searches carry an :class:`Access` so a vector store opened for one
caller never returns another group's documents. ``as_retriever()`` works as for any LangChain vector
store; for hybrid search and reranking use :class:`rag.retrieval.retriever.StoreRetriever`.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import VectorStore

from rag.access import PUBLIC, Access
from rag.config import DEFAULT_COLLECTION
from rag.errors import BllossomRagError
from rag.store import DocumentRecord, DocumentStore, DocumentUpdate, NewChunk


class StoreVectorStore(VectorStore):
    """A LangChain vector store over one collection of a :class:`~rag.store.DocumentStore`.

    Args:
        store: The store.
        embedding: Any LangChain embeddings (the collection records its name and size).
        collection: The collection; created on the first add.
        access: Whose searches these are; the default sees only unrestricted documents.
        groups: Groups that may read the documents this instance adds (empty: everyone).

    """

    def __init__(
        self,
        store: DocumentStore,
        embedding: Embeddings,
        *,
        collection: str = DEFAULT_COLLECTION,
        access: Access = PUBLIC,
        groups: Sequence[str] = (),
    ) -> None:
        self.store = store
        self.embedding = embedding
        self.collection = collection
        self.access = access
        self.groups = tuple(sorted(set(groups)))

    @property
    def embeddings(self) -> Embeddings:
        """The embeddings this store searches with."""
        return self.embedding

    def _exists(self) -> bool:
        return any(c.name == self.collection for c in self.store.collections())

    def add_texts(
        self,
        texts: Iterable[str],
        metadatas: list[dict] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        """Embed and commit texts in one transaction; an existing id is replaced.

        Raises:
            BllossomRagError: A metadata value cannot be stored as JSON.

        """
        texts = list(texts)
        metadatas = metadatas or [{} for _ in texts]
        given: list[str | None] = list(ids) if ids else [None] * len(texts)
        ids = [i or uuid.uuid4().hex for i in given]  # LangChain passes None for "make one"
        if not texts:
            return []
        vectors = _normalize(np.asarray(self.embedding.embed_documents(texts), np.float32))
        name = getattr(self.embedding, "name", type(self.embedding).__name__)
        self.store.ensure_collection(self.collection, str(name), vectors.shape[1])
        updates = []
        for doc_id, text, metadata, vector in zip(ids, texts, metadatas, vectors, strict=True):
            try:
                json.dumps(metadata)
            except (TypeError, ValueError) as error:
                msg = f"document {doc_id!r}: metadata is not JSON-serializable ({error})"
                raise BllossomRagError(msg) from None
            record = DocumentRecord(
                id=doc_id,
                collection=self.collection,
                source_path=str(metadata.get("source", doc_id)),
                content_sha256=hashlib.sha256(text.encode()).hexdigest(),
                size=len(text.encode()),
                mtime=0.0,
                groups=self.groups,
                metadata=dict(metadata),
            )
            chunk = NewChunk(id=doc_id, ordinal=0, text=text, tokens=0, vector=vector)
            updates.append(DocumentUpdate(document=record, chunks=[chunk]))
        self.store.commit(self.collection, updates)
        return ids

    def delete(self, ids: list[str] | None = None, **kwargs: Any) -> bool | None:
        """Delete documents by id (unknown ids are ignored); ``None`` deletes every one."""
        if not self._exists():
            return True
        if ids is None:
            ids = [document.id for document in self.store.documents(self.collection)]
        if ids:
            self.store.remove_documents(self.collection, ids)
        return True

    def get_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        """The documents with these ids (ids missing or not readable by ``access`` are skipped)."""
        if not self._exists():
            return []
        found = []
        for doc_id in dict.fromkeys(ids):
            record = self.store.document(self.collection, doc_id)
            chunks = self.store.document_chunks(self.collection, doc_id)
            if record is not None and chunks and self.access.can_read(record.groups):
                text = "".join(chunk.text for chunk in chunks)
                found.append(Document(id=doc_id, page_content=text, metadata=dict(record.metadata)))
        return found

    def similarity_search_with_score(
        self, query: str, k: int = 4, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """The ``k`` readable documents nearest to ``query`` with their cosine similarity."""
        return self.similarity_search_by_vector_with_score(self.embedding.embed_query(query), k)

    def similarity_search_by_vector_with_score(
        self, embedding: list[float], k: int = 4
    ) -> list[tuple[Document, float]]:
        """The ``k`` readable documents nearest to a query vector, with scores."""
        if not self._exists():
            return []
        vector = _normalize(np.asarray(embedding, dtype=np.float32).reshape(1, -1))[0]
        hits = self.store.search(self.collection, vector, k, self.access)
        results = []
        for hit in hits:
            record = self.store.document(self.collection, hit.chunk.document_id)
            metadata = dict(record.metadata) if record is not None else {}
            document = Document(
                id=hit.chunk.document_id, page_content=hit.chunk.text, metadata=metadata
            )
            results.append((document, hit.score))
        return results

    def similarity_search(self, query: str, k: int = 4, **kwargs: Any) -> list[Document]:
        """The ``k`` readable documents nearest to ``query``."""
        return [document for document, _ in self.similarity_search_with_score(query, k)]

    def similarity_search_by_vector(
        self, embedding: list[float], k: int = 4, **kwargs: Any
    ) -> list[Document]:
        """The ``k`` readable documents nearest to a query vector."""
        return [d for d, _ in self.similarity_search_by_vector_with_score(embedding, k)]

    def _select_relevance_score_fn(self) -> Any:
        # Inner product of normalized vectors is cosine: map [-1, 1] to [0, 1].
        return lambda score: (score + 1.0) / 2.0

    @classmethod
    def from_texts(
        cls,
        texts: list[str],
        embedding: Embeddings,
        metadatas: list[dict] | None = None,
        *,
        ids: list[str] | None = None,
        store: DocumentStore | None = None,
        collection: str = DEFAULT_COLLECTION,
        **kwargs: Any,
    ) -> StoreVectorStore:
        """A vector store over ``store`` (required) with ``texts`` added."""
        if store is None:
            msg = "StoreVectorStore.from_texts needs store=Store(data_dir)"
            raise BllossomRagError(msg)
        vectorstore = cls(store, embedding, collection=collection, **kwargs)
        vectorstore.add_texts(texts, metadatas, ids=ids)
        return vectorstore


def _normalize(vectors: np.ndarray) -> np.ndarray:
    """Unit rows, so inner product is cosine whatever the embeddings return."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)

"""A LangChain retriever over the store, so retrieval plugs into any LangChain chain.

Each result is a ``Document`` whose metadata says exactly where the text came from (``source``
path, ``page``, chunk ``id``) and how well it matched (``score``): the chain cites from these
fields, never from the text itself.
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field

from rag.config import DEFAULT_COLLECTION
from rag.embeddings import SentenceTransformerEmbeddings
from rag.store import SearchHit, Store


def hit_to_document(hit: SearchHit) -> Document:
    """A store hit as a LangChain ``Document`` with citation metadata."""
    chunk = hit.chunk
    metadata: dict[str, Any] = {
        "id": chunk.id,
        "source": chunk.source_path,
        "page": chunk.page,
        "score": hit.score,
        "document_id": chunk.document_id,
        "collection": chunk.collection,
        "kind": chunk.kind,
    }
    return Document(id=chunk.id, page_content=chunk.text, metadata=metadata)


class StoreRetriever(BaseRetriever):
    """Dense retrieval of the ``k`` best chunks of one collection."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    store: Store
    embeddings: SentenceTransformerEmbeddings
    collection: str = DEFAULT_COLLECTION
    k: int = Field(default=5, ge=1)

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        vector = self.embeddings.encode_query(query)
        return [hit_to_document(hit) for hit in self.store.search(self.collection, vector, self.k)]

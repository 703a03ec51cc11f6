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
from rag.store import ImageFiles, SearchHit, Store


def hit_to_document(hit: SearchHit, images: ImageFiles) -> Document:
    """A store hit as a LangChain ``Document`` with citation metadata.

    Image chunks (their text is the caption) also carry ``image_sha256``, ``image_path`` and
    ``thumbnail_path``, so a chain can put the stored image itself into the prompt.
    """
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
    if chunk.image_sha256:
        metadata["image_sha256"] = chunk.image_sha256
        metadata["image_path"] = str(images.path(chunk.image_sha256))
        metadata["thumbnail_path"] = str(images.thumbnail_path(chunk.image_sha256))
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
        hits = self.store.search(self.collection, vector, self.k)
        return [hit_to_document(hit, self.store.images) for hit in hits]

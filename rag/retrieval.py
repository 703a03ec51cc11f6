"""A LangChain retriever over the store: dense, BM25 or hybrid, optionally reranked.

Each result is a ``Document`` whose metadata says exactly where the text came from (``source``
path, ``page``, chunk ``id``) and how well it matched (``score``): the chain cites from these
fields, never from the text itself.

Modes: ``dense`` (FAISS over the embeddings), ``bm25`` (Kiwi morphemes) and ``hybrid`` (both,
fused by :class:`rag.fusion.Fusion`). Every search carries the caller's :class:`Access` into the
index searches themselves; the fusion and the optional reranker only ever see what they return.
``score`` is the similarity in ``dense`` mode, BM25 in ``bm25``, the fused score (0..1) in
``hybrid`` and the cross-encoder's score when reranking.
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field

from rag import headings
from rag.access import PUBLIC, Access
from rag.config import DEFAULT_COLLECTION
from rag.embeddings import SentenceTransformerEmbeddings
from rag.fusion import Fusion
from rag.rerank import CrossEncoderReranker
from rag.store import ImageFiles, SearchHit, Store

RetrievalMode = Literal["dense", "bm25", "hybrid"]


def hit_to_document(hit: SearchHit, images: ImageFiles) -> Document:
    """A store hit as a LangChain ``Document`` with citation metadata.

    Image chunks (their text is the caption) also carry ``image_sha256``, ``image_path`` and
    ``thumbnail_path``, so a chain can put the stored image itself into the prompt. A chunk cut
    under headings carries its path as ``heading`` (``법 > 제3장 국회 > 제42조``), and its
    ``page_content`` is the passage without that line (:mod:`rag.headings`).
    """
    chunk = hit.chunk
    heading, passage = headings.split(chunk.text)
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
    if heading:
        metadata["heading"] = heading
    return Document(id=chunk.id, page_content=passage, metadata=metadata)


class StoreRetriever(BaseRetriever):
    """The ``k`` best chunks of one collection that the caller may read.

    Attributes:
        store: The store to search.
        embeddings: Embeds the query (unused in ``bm25`` mode).
        collection: The collection to search.
        k: How many documents to return.
        mode: ``dense``, ``bm25`` or ``hybrid``.
        access: Whose query this is; the default sees only unrestricted documents.
        fusion: How ``hybrid`` combines the two rankings.
        candidates: Results taken from each search before fusion.
        reranker: Optional cross-encoder that reorders the top ``rerank_top_n``.
        rerank_top_n: Fused results the reranker reads.

    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    store: Store
    embeddings: SentenceTransformerEmbeddings
    collection: str = DEFAULT_COLLECTION
    k: int = Field(default=5, ge=1)
    mode: RetrievalMode = "hybrid"
    access: Access = PUBLIC
    fusion: Fusion = Fusion()
    candidates: int = Field(default=50, ge=1)
    reranker: CrossEncoderReranker | None = None
    rerank_top_n: int = Field(default=20, ge=1)

    def search(self, query: str) -> list[SearchHit]:
        """The ranked hits for ``query`` (what :meth:`invoke` turns into documents)."""
        depth = max(self.k, self.rerank_top_n) if self.reranker else self.k
        if self.mode == "bm25":
            hits = self.store.keyword_search(self.collection, query, depth, self.access)
        elif self.mode == "dense":
            vector = self.embeddings.encode_query(query)
            hits = self.store.search(self.collection, vector, depth, self.access)
        else:
            vector = self.embeddings.encode_query(query)
            found = self.store.candidates(
                self.collection, query, vector, max(self.candidates, depth), self.access
            )
            ranked = self.fusion.fuse(found.dense, found.keyword, found.evidence)
            hits = self.store.hits(ranked[:depth])
        if self.reranker is not None:
            hits = self.reranker.rerank(query, hits[:depth])
        return hits[: self.k]

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        return [hit_to_document(hit, self.store.images) for hit in self.search(query)]

"""The assembled assistant: one place that turns :class:`Settings` into working parts.

The CLI and the UI both build an :class:`Assistant` and ask it for the store, the embedder, the
chat model or a chain, so they cannot drift apart. Every part loads on first use: listing
documents never loads a model, and asking a question never loads the ingestion code.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable

from rag.chain import build_rag_chain
from rag.config import Settings
from rag.embeddings import SentenceTransformerEmbeddings
from rag.llm import ChatBllossom, load_processor
from rag.retrieval import StoreRetriever
from rag.store import Store


class Assistant:
    """Lazily built parts for one configuration.

    Args:
        settings: The configuration to build from.

    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def store(self) -> Store:
        """The store under ``data_dir``."""
        return Store(self.settings.data_dir)

    @cached_property
    def embeddings(self) -> SentenceTransformerEmbeddings:
        """The configured embedder."""
        return SentenceTransformerEmbeddings.load(
            self.settings.embedding_model,
            device=self.settings.device,
            batch_size=self.settings.embedding_batch_size,
        )

    @cached_property
    def llm(self) -> BaseChatModel:
        """The configured chat model (in-process Bllossom)."""
        return ChatBllossom(
            model_name=self.settings.generator_model,
            device=self.settings.device,
            max_new_tokens=self.settings.max_new_tokens,
            temperature=self.settings.temperature,
            top_p=self.settings.top_p,
        )

    @cached_property
    def processor(self) -> Any:
        """The generator's processor, for rendering and counting prompts."""
        if isinstance(self.llm, ChatBllossom):
            return self.llm.processor
        return load_processor(self.settings.generator_model)

    def retriever(self, collection: str | None = None, k: int | None = None) -> StoreRetriever:
        """A retriever over an existing collection (raises when it does not exist)."""
        name = self.store.collection(collection or self.settings.collection).name
        return StoreRetriever(
            store=self.store,
            embeddings=self.embeddings,
            collection=name,
            k=k or self.settings.top_k,
        )

    def chain(self, collection: str | None = None, k: int | None = None) -> Runnable[Any, Any]:
        """The RAG chain over a collection."""
        return build_rag_chain(self.retriever(collection, k), self.llm)

    def close(self) -> None:
        """Checkpoint and close the store if it was opened."""
        if "store" in self.__dict__:
            self.store.close()

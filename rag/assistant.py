"""The assembled assistant: one place that turns :class:`Settings` into working parts.

The CLI and the UI both build an :class:`Assistant` and ask it for the store, the embedder, the
chat model or a chain, so they cannot drift apart. Every part loads on first use: listing
documents never loads a model, and asking a question never loads the ingestion code.

The embedder follows the collection: unless ``embedding.model`` is set explicitly (argument,
environment or file), a command on an existing collection loads the model that collection was
built with, so a new shell needs no setting to query what it ingested yesterday. The price is
one store read before the first model loads.

Models are shared per process: assistants built with the same model settings get the same
loaded embedder and reranker here, and every ``ChatBllossom`` of one checkpoint shares its
weights and processor (:mod:`rag.generation.llm.local`), so a long-lived process that builds several
assistants (the web app, a notebook, the in-process CLI tests) loads each model once. A couple
of models per kind are kept, which bounds the memory a process switching models can hold.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from functools import cached_property, lru_cache
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable

from rag.access import PUBLIC, Access
from rag.access.audit import Actor, AuditEntry, AuditLog, audit_log
from rag.admin import AccessAdmin
from rag.config import Settings
from rag.embeddings.base import TextEmbeddings
from rag.embeddings.factory import SHARED_MODELS, embedder_for
from rag.embeddings.remote import same_model
from rag.errors import CollectionNotFoundError, EmbeddingMismatchError
from rag.generation.budget import PromptBudget
from rag.generation.chain import PromptBuilder, build_rag_chain
from rag.generation.llm import ChatBllossom, chat_model, load_processor
from rag.generation.result import ChainResult
from rag.generation.support import SentenceSupport, SupportCheck
from rag.generation.turn_limits import TurnLimits
from rag.retrieval.followup import FollowUps
from rag.retrieval.fusion import Fusion
from rag.retrieval.rerank import CrossEncoderReranker
from rag.retrieval.retriever import RetrievalMode, StoreRetriever
from rag.runtime.models import model_name
from rag.store import CollectionInfo, DocumentStore
from rag.store.factory import store_of
from rag.text.kiwi import preload as preload_kiwi


class Assistant:
    """Lazily built parts for one configuration.

    Args:
        settings: The configuration to build from.

    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def store(self) -> DocumentStore:
        """The store: in PostgreSQL when ``store.url`` is set, else embedded in ``data_dir``."""
        return store_of(self.settings)

    @property
    def embeddings(self) -> TextEmbeddings:
        """The embedder of the default collection (see :meth:`embeddings_for`)."""
        return self.embeddings_for(None)

    def embedding_model(self, collection: str | None = None) -> str:
        """The embedder a collection is read and written with.

        The ``embedding.model`` setting when it was set explicitly; else the model an existing
        collection was built with; else the setting's default.
        """
        settings = self.settings
        if "model" in settings.embedding.model_fields_set:
            return settings.embedding.model
        try:
            return self.store.collection(collection or settings.collection).embedding_model
        except CollectionNotFoundError:
            return settings.embedding.model

    def embeddings_for(self, collection: str | None) -> TextEmbeddings:
        """The embedder for a collection (default: settings'; see :meth:`embedding_model`).

        In-process, or the server at ``embedding.url``; a server whose model is not the one
        the collection was built with is refused.

        Raises:
            EmbeddingMismatchError: The server serves another model than the collection's.
            EmbeddingServerError: The server cannot be used.

        """
        settings = self.settings
        model = model_name(self.embedding_model(collection))
        embedder = embedder_for(settings, model)
        if not settings.embedding.url:
            return embedder
        name = collection or settings.collection
        try:
            recorded = self.store.collection(name).embedding_model
        except CollectionNotFoundError:
            return embedder
        if not same_model(recorded, embedder.name):
            msg = (
                f"collection {name!r} was built with {recorded!r}, but embedding.url serves "
                f"{embedder.name!r}; point embedding.url at a server of the same model"
            )
            raise EmbeddingMismatchError(msg)
        return embedder

    @cached_property
    def llm(self) -> BaseChatModel:
        """The chat model: ``ChatOpenAI`` on ``worker_url`` when set, else in-process Bllossom."""
        return chat_model(self.settings)

    @cached_property
    def processor(self) -> Any:
        """The generator's processor, for rendering and counting prompts."""
        if isinstance(self.llm, ChatBllossom):
            return self.llm.processor
        return load_processor(self.settings.generation.model)

    @cached_property
    def reranker(self) -> CrossEncoderReranker | None:
        """The configured cross-encoder, or None when reranking is off."""
        if not self.settings.retrieval.reranker_model:
            return None
        return _reranker(model_name(self.settings.retrieval.reranker_model), self.settings.device)

    def readable_collections(self, access: Access) -> list[CollectionInfo]:
        """The collections holding something ``access`` may read, with the counts of that.

        A collection whose every document is restricted to other groups is not listed at all:
        its name, size and embedder are metadata about documents the caller may not see.
        """
        return [info for info in self.store.collections(access) if info.documents]

    def retriever(
        self,
        collection: str | None = None,
        k: int | None = None,
        *,
        access: Access = PUBLIC,
        mode: RetrievalMode | None = None,
    ) -> StoreRetriever:
        """A retriever over an existing collection (raises when it does not exist).

        Args:
            collection: The collection (default: settings).
            k: Documents to return (default: ``top_k``).
            access: The caller's reading rights; the default sees unrestricted documents only.
            mode: ``dense``, ``bm25`` or ``hybrid`` (default: ``retrieval.mode``).

        """
        settings = self.settings
        name = self.store.collection(collection or settings.collection).name
        mode = mode or settings.retrieval.mode
        preload_kiwi()  # loads while the embedder does; every mode's candidates include BM25
        return StoreRetriever(
            store=self.store,
            embeddings=self.embeddings_for(name),
            collection=name,
            k=k or settings.retrieval.top_k,
            mode=mode,
            access=access,
            fusion=Fusion(**settings.retrieval.fusion.model_dump()),
            candidates=settings.retrieval.candidates,
            reranker=self.reranker,
            rerank_top_n=settings.retrieval.rerank_top_n,
            min_relevance=settings.retrieval.min_relevance,
            relevance_floor=settings.retrieval.relevance_floor,
        )

    def chain(
        self,
        collection: str | None = None,
        k: int | None = None,
        *,
        access: Access = PUBLIC,
        llm: Runnable[Any, Any] | None = None,
    ) -> Runnable[Any, Any]:
        """The RAG chain over a collection, retrieving only what ``access`` may read.

        Args:
            collection: The collection (default: settings).
            k: Passages to retrieve (default: ``top_k``).
            access: The caller's reading rights.
            llm: What answers (default: :attr:`llm`), e.g. that model bound to one request's
                sampling settings, as the UI's sidebar does.

        """
        return build_rag_chain(
            self.retriever(collection, k, access=access),
            llm or self.llm,
            self.prompt_builder,
            self.followups,
            self.turn_limits,
        )

    @cached_property
    def turn_limits(self) -> TurnLimits:
        """What one question and its conversation may hold (``[conversation]``)."""
        return TurnLimits.from_settings(self.settings)

    @cached_property
    def followups(self) -> FollowUps:
        """How a follow-up's retrieval query is made, from settings (``query_rewrite``)."""
        settings = self.settings
        return FollowUps(
            mode=settings.conversation.query_rewrite,
            decay=settings.conversation.history_decay,
            turns=settings.conversation.history_turns,
            topic_changes=settings.conversation.topic_changes,
            llm=self.llm if settings.conversation.query_rewrite == "llm" else None,
        )

    @cached_property
    def prompt_builder(self) -> PromptBuilder:
        """Image slots and the token budget, from settings."""
        settings = self.settings
        return PromptBuilder(
            PromptBudget.from_processor(self.processor, settings.generation.prompt_token_budget),
            max_images=settings.generation.max_images,
            max_retrieved_images=settings.generation.max_retrieved_images,
            max_image_pixels=settings.max_image_pixels,
        )

    def check_support(self, result: ChainResult) -> list[SentenceSupport]:
        """Each cited sentence of an answer checked against its passages (none: not checked).

        Not checked when ``generation.check_support`` is off, nothing was found (the fixed
        answer cites nothing), or the collection's embedder has no support model.
        """
        if not self.settings.generation.check_support or not result.documents:
            return []
        collection = str(result.documents[0].metadata.get("collection") or "") or None
        check = SupportCheck.for_embeddings(self.embeddings_for(collection), self.store)
        return check.check(result.answer, result.documents)

    @cached_property
    def audit(self) -> AuditLog:
        """The audit trail in the store, kept as ``[audit]`` says."""
        return audit_log(self.settings, self.store)

    def admin(self, actor: Actor) -> AccessAdmin:
        """Recorded changes of access (document groups, keys) made by ``actor``."""
        return AccessAdmin(self.store, self.audit, actor)

    def record_answer(
        self,
        actor: Actor,
        collection: str,
        result: ChainResult,
        seconds: float,
        *,
        action: Literal["answer", "retrieve"] = "answer",
    ) -> None:
        """Put a question and the documents it was shown (or given) on the audit trail."""
        self.audit.answered(
            who=actor.who,
            surface=actor.surface,
            collection=collection,
            question=result.question,
            documents=result.document_ids,
            detail={"answered": result.found, "seconds": round(seconds, 3)},
            action=action,
        )

    def record_opened(
        self, actor: Actor, collection: str, document_id: str, detail: Mapping[str, Any]
    ) -> None:
        """Put a source someone opened (its passage, page or original file) on the audit trail."""
        self.audit.record(
            AuditEntry(
                time=time.time(),
                who=actor.who,
                surface=actor.surface,
                action="open",
                collection=collection,
                documents=(document_id,),
                detail=dict(detail),
            )
        )

    def close(self) -> None:
        """Checkpoint and close the store if it was opened."""
        if "store" in self.__dict__:
            self.store.close()


@lru_cache(maxsize=SHARED_MODELS)
def _reranker(reference: str, device: str) -> CrossEncoderReranker:
    return CrossEncoderReranker.load(reference, device=device)

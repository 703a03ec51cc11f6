"""A LangChain retriever over the store: dense, BM25 or hybrid, optionally reranked.

Each result is a ``Document`` whose metadata says exactly where the text came from (``source``
path, ``page``, chunk ``id``, ``language``) and how relevant it is (``relevance``, also shown
as ``score``): the chain cites from these fields, never from the text itself.

Modes: ``dense`` (FAISS over the embeddings), ``bm25`` (Kiwi morphemes) and ``hybrid`` (both, fused
by :class:`rag.retrieval.fusion.Fusion`). Every mode draws the same candidates, the best of both
searches with both scores (:meth:`rag.store.Store.candidates`), and orders them by its own score, so
every result has the evidence its relevance needs. Dense scores are cosines in the embedder's
language-neutral space (:mod:`rag.embeddings.space`). Every search carries the caller's
:class:`Access` into the index searches themselves; the fusion and the optional reranker only ever
see what they return.

``score`` is the calibrated relevance in every mode (:mod:`rag.retrieval.relevance`): in [0, 1], the
same scale for every query and mode, unlike the per-query normalized fused score. Results below the
floor are dropped, so an off-topic question can get no documents at all: ``min_relevance``, or with
``relevance_floor = "adaptive"`` the level that refuses a cohort of unrelated questions in this
collection, when that is lower (:func:`rag.retrieval.relevance.cohort_floor`; the cohort's answers
are cached per store, collection commit and reader, so it is asked once per change).

A passage that several documents share word for word (a boilerplate clause, ten bills' identical
부칙, one file saved twice) is returned once, at its best rank, so it cannot fill the list; the
copies it stands for ride along (``also_in``: their paths and pages).

The results are in the order of the relevance they show (highest first), unless a cross-encoder
reranks them, whose order then stands: ``[1]`` is the passage the evidence says answers best, and
a list never shows a lower relevance above a higher one. The search's own order chose which
``k`` results these are. (Relevance had the last word before too, on the first five places,
less a small penalty per place in the fused order; the plain order by relevance measured the
same within a point: ``docs/benchmarks.md``, "Sources in relevance order".)
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field

from rag.access import PUBLIC, Access
from rag.config import DEFAULT_COLLECTION
from rag.embeddings.base import TextEmbeddings
from rag.embeddings.calibration import Calibration
from rag.retrieval.followup import RetrievalQuery
from rag.retrieval.fusion import Fusion, keyword_visibility
from rag.retrieval.relevance import cohort_floor, cross_language, uncalibrated
from rag.retrieval.rerank import CrossEncoderReranker
from rag.runtime.cancel import stop_if_cancelled
from rag.store import Candidates, DocumentStore, ImageStore, SearchHit, StoredChunk
from rag.text.language import Language, detect_language

logger = logging.getLogger(__name__)

RetrievalMode = Literal["dense", "bm25", "hybrid"]
# Adaptive floors by everything their cohort's answers depend on, the store's identity first
# (so a second Store object over the same folder or database reuses them).
_FLOORS: dict[tuple[Any, ...], float] = {}
_FLOORS_LOCK = threading.Lock()


@dataclass(frozen=True)
class Ranked:
    """A search's best hits in order, with the candidates and query language they came from.

    Attributes:
        hits: The hits, best first (their ``score`` is the mode's).
        found: Both searches' candidates with both scores and their languages.
        language: The query's language.

    """

    hits: list[SearchHit]
    found: Candidates
    language: Language

    def features(self) -> np.ndarray:
        """Each hit's relevance features, ``(len(hits), 3)``: :data:`~.calibration.FEATURES`."""
        ids = [hit.chunk.vector_id for hit in self.hits]
        return np.array(
            [
                (
                    self.found.dense[i],
                    self.found.coverage.get(i, 0.0),
                    float(cross_language(self.language, hit.chunk.language)),
                )
                for i, hit in zip(ids, self.hits, strict=True)
            ],
            dtype=np.float64,
        ).reshape(len(ids), 3)


def hit_to_document(hit: SearchHit, images: ImageStore) -> Document:
    """A store hit as a LangChain ``Document`` with citation metadata.

    ``source`` is the file's path on this machine (LangChain's convention, for code that reads
    the file); ``path`` is the path people are shown, relative to where it was ingested from.

    Image chunks (their text is the caption) also carry ``image_sha256``, ``image_path`` and
    ``thumbnail_path``, so a chain can put the stored image itself into the prompt. A chunk cut
    under headings carries its path as ``heading`` (``법 > 제3장 국회 > 제42조``), which the
    prompt's source label shows; ``page_content`` is the passage alone.
    """
    chunk = hit.chunk
    metadata: dict[str, Any] = {
        "id": chunk.id,
        "source": chunk.source_path,
        "path": chunk.shown_path,
        "page": chunk.page,
        "score": hit.score if hit.relevance is None else hit.relevance,
        "document_id": chunk.document_id,
        "collection": chunk.collection,
        "kind": chunk.kind,
        "language": chunk.language,
    }
    if hit.relevance is not None:
        metadata["relevance"] = hit.relevance
    if chunk.image_sha256:
        metadata["image_sha256"] = chunk.image_sha256
        metadata["image_path"] = str(images.path(chunk.image_sha256))
        metadata["thumbnail_path"] = str(images.thumbnail_path(chunk.image_sha256))
    if chunk.heading:
        metadata["heading"] = chunk.heading
    if hit.copies:
        metadata["also_in"] = [{"path": c.shown_path, "page": c.page} for c in hit.copies]
    return Document(id=chunk.id, page_content=chunk.text, metadata=metadata)


def passage_key(chunk: StoredChunk) -> tuple[str, str]:
    """What makes two chunks the same result: an image's bytes, a passage's words.

    The heading line is left out (two bills' identical 부칙 are one passage under two titles),
    and so is spacing; two images with one caption are still two images.
    """
    if chunk.kind == "image":
        return "image", chunk.image_sha256 or chunk.id
    return "text", " ".join(chunk.text.split())


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
        min_relevance: Results with a lower calibrated relevance are dropped (0: none is);
            not applied when the embedder has no calibration.
        relevance_floor: ``adaptive``: the floor is lowered, per collection, to what refuses
            its calibration's off-topic cohort (:meth:`floor`); ``fixed``: ``min_relevance``.
        calibration: The vector space and relevance model (default: the embedder's).

    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    store: DocumentStore
    embeddings: TextEmbeddings
    collection: str = DEFAULT_COLLECTION
    k: int = Field(default=5, ge=1)
    mode: RetrievalMode = "hybrid"
    access: Access = PUBLIC
    fusion: Fusion = Fusion()
    candidates: int = Field(default=50, ge=1)
    reranker: CrossEncoderReranker | None = None
    rerank_top_n: int = Field(default=20, ge=1)
    min_relevance: float = Field(default=0.0, ge=0.0, le=1.0)
    relevance_floor: Literal["adaptive", "fixed"] = "adaptive"
    calibration: Calibration | None = None

    def search(self, query: str | RetrievalQuery) -> list[SearchHit]:
        """The ranked hits for ``query``, each with its relevance, the floor applied.

        Args:
            query: A question, or a chat turn's weighted texts (:mod:`rag.retrieval.followup`).

        """
        ranked = self.ranked(query)
        stop_if_cancelled()
        model = self._calibration.relevance
        if model is None:
            relevance = uncalibrated(ranked.features()[:, 0])
            if self.min_relevance > 0:
                logger.warning("min_relevance is not applied: the embedder has no calibration")
            floor = 0.0
        else:
            relevance, floor = model(ranked.features()), self.floor()
        hits = [
            replace(hit, relevance=float(value))
            for hit, value in zip(ranked.hits, relevance, strict=True)
            if value >= floor
        ]
        if self.reranker is None:  # the list reads in the order of the relevance it shows
            hits.sort(key=lambda hit: -(hit.relevance or 0.0))
        return hits

    def floor(self) -> float:
        """The relevance below which this retriever drops results (:mod:`rag.retrieval.relevance`).

        ``min_relevance``, or in ``adaptive`` mode the level that refuses the calibration's
        cohort in this collection for this caller, when that is lower. The cohort's answers
        are computed once per store, version of the collection this reader sees, reader and
        search setup, from the fused ranking (a reranker only reorders it). Keyed by what the
        reader may read, not by the collection's last commit: a commit of documents hidden
        from the reader does not send its next search through the cohort again, so its
        timing does not tell that someone else ingested.
        """
        calibration = self._calibration
        model = calibration.relevance
        if (
            self.relevance_floor == "fixed"
            or model is None
            or not calibration.cohort
            or self.min_relevance <= 0
        ):
            return self.min_relevance
        key = self._floor_key()
        with _FLOORS_LOCK:
            if key in _FLOORS:
                return _FLOORS[key]
        vectors = (
            self.embeddings.cohort_vectors
            if calibration is self.embeddings.calibration
            else self.embeddings.encode_queries(calibration.cohort)
        )
        # The fused ranking without the cross-encoder, whose cost would be paid 40 times.
        plain = self if self.reranker is None else self.model_copy(update={"reranker": None})
        best = []
        for question, vector in zip(calibration.cohort, vectors, strict=True):
            stop_if_cancelled()
            best.append(
                float(max(model(plain.ranked(question, vector=vector).features()), default=0.0))
            )
        floor = cohort_floor(best, self.min_relevance)
        with _FLOORS_LOCK:
            if len(_FLOORS) > 256:  # stale commits and departed callers
                _FLOORS.clear()
            _FLOORS[key] = floor
        return floor

    def _floor_key(self) -> tuple[Any, ...]:
        """Everything the cohort's answers depend on (the calibration names the model)."""
        return (
            self.store.store_id,
            str(self.store.data_dir),  # a copied folder keeps the id, then goes its own way
            self.collection,
            self.store.readable_version(self.collection, self.access),
            self.access,
            self.mode,
            self.k,
            self.candidates,
            self.fusion,
            self.min_relevance,
            self._calibration.name,
        )

    @property
    def _calibration(self) -> Calibration:
        return self.calibration or self.embeddings.calibration

    def ranked(self, query: str | RetrievalQuery, *, vector: np.ndarray | None = None) -> Ranked:
        """The ``k`` best hits in this mode's order (reranked if configured), before the floor.

        A follow-up's language is its own (the last turn's), not its conversation's.

        Args:
            query: A question, or a chat turn's weighted texts.
            vector: The query's embedding, when the caller already has it.

        """
        turns = RetrievalQuery.of(query) if isinstance(query, str) else query
        depth = max(self.k, self.rerank_top_n) if self.reranker else self.k
        found = self.store.candidates(
            self.collection,
            turns.keywords(),
            turns.vector(self.embeddings) if vector is None else vector,
            max(self.candidates, depth),
            self.access,
            self._calibration.space,
        )
        language = detect_language(turns.turns[-1][0])
        hits = self._distinct_hits(self._rank(found, language), depth)
        if self.reranker is not None:
            hits = self.reranker.rerank(turns.text, hits[:depth])
        return Ranked(hits[: self.k], found, language)

    def _distinct_hits(self, ranked: list[tuple[int, float]], depth: int) -> list[SearchHit]:
        """The first ``depth`` hits of ``ranked`` whose passages differ (:func:`passage_key`).

        The same passage in several documents (a boilerplate clause, a footer, one file saved
        under two names) would fill the top of the list with one text and push everything else
        out, so only its best-ranked copy is kept. Chunks are read a batch at a time, since
        most lists have no duplicate at all.
        """
        kept: dict[tuple[str, str], SearchHit] = {}
        for start in range(0, len(ranked), depth):
            for hit in self.store.hits(ranked[start : start + depth]):
                key = passage_key(hit.chunk)
                first = kept.get(key)
                if first is not None:
                    kept[key] = replace(first, copies=(*first.copies, hit.chunk))
                elif len(kept) < depth:
                    kept[key] = hit
            if len(kept) == depth:
                break
        return list(kept.values())

    def _rank(self, found: Candidates, language: Language) -> list[tuple[int, float]]:
        """The candidates in this mode's order, with the mode's own score."""
        if self.mode == "hybrid":
            seen = keyword_visibility(found.dense, found.languages, language)
            return self.fusion.fuse(found.dense, found.keyword, found.evidence, seen)
        scores = found.dense if self.mode == "dense" else found.keyword
        if self.mode == "bm25":  # BM25 ranks only what matched a keyword
            scores = {i: s for i, s in scores.items() if s > 0}
        return sorted(scores.items(), key=lambda item: (-item[1], item[0]))

    def _get_relevant_documents(
        self,
        query: str,
        *,
        run_manager: CallbackManagerForRetrieverRun,
        turns: Sequence[tuple[str, float]] = (),
    ) -> list[Document]:
        # ``invoke(text, turns=...)``: a chat turn's weighted texts; ``text`` is their join.
        searched = RetrievalQuery(tuple(turns)) if turns else query
        return [hit_to_document(hit, self.store.images) for hit in self.search(searched)]

"""Optional cross-encoder reranking of the fused candidates.

A cross-encoder reads the question and a passage together, so it judges relevance far better
than comparing two independent embeddings, at the price of one forward pass per candidate. It
therefore only reorders the top ``rerank_top_n`` fused results, and only when a model is
configured (``reranker_model``, e.g. ``BAAI/bge-reranker-v2-m3``); it is off by default.

It only ever sees hits that the access-controlled searches returned, so a restricted chunk never
reaches it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from rag.runtime.models import loading, model_reference, resolve_device
from rag.store import SearchHit

if TYPE_CHECKING:
    from sentence_transformers import CrossEncoder


class CrossEncoderReranker:
    """Reorder hits by a sentence-transformers ``CrossEncoder``'s relevance score.

    Args:
        model: A loaded cross-encoder.
        batch_size: Pairs per forward pass.

    """

    def __init__(self, model: CrossEncoder, *, batch_size: int = 16) -> None:
        self.model = model
        self.batch_size = batch_size

    @classmethod
    def load(
        cls, name_or_path: str, *, device: str = "auto", batch_size: int = 16
    ) -> CrossEncoderReranker:
        """Load a cross-encoder from a local folder or the hub.

        Raises:
            ModelLoadError: The folder is missing or the model cannot be loaded.

        """
        reference = model_reference(name_or_path, "reranker")
        with loading("reranker", reference):
            from sentence_transformers import CrossEncoder

            model = CrossEncoder(reference, device=resolve_device(device))
        return cls(model, batch_size=batch_size)

    def rerank(self, query: str, hits: Sequence[SearchHit]) -> list[SearchHit]:
        """``hits`` best first by cross-encoder score (which becomes each hit's score)."""
        if not hits:
            return []
        scores = self.model.predict(
            [(query, hit.chunk.searchable_text) for hit in hits],
            batch_size=self.batch_size,
            show_progress_bar=False,
        )
        rescored = [
            replace(hit, score=float(score)) for hit, score in zip(hits, scores, strict=True)
        ]
        return sorted(rescored, key=lambda hit: -hit.score)

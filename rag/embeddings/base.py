"""What the store's callers need from an embedder, wherever it runs.

Ingestion sizes chunks with the embedder's tokenizer and records its name and vector size with
the collection; retrieval embeds a query, or a conversation's few turns in one batch. Two kinds
provide that: a sentence-transformers model in this process (:mod:`rag.embeddings.torch`) and an
OpenAI-compatible embedding server (:mod:`rag.embeddings.remote`). Both are LangChain
``Embeddings`` too, so LangChain code can use either.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
from langchain_core.embeddings import Embeddings

from rag.embeddings.calibration import Calibration, find_calibration

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase


class TextEmbeddings(Embeddings):
    """Normalized float32 embeddings of queries and passages, with the model's own prompts.

    Attributes:
        name: The model as a collection records it.

    """

    name: str

    @property
    @abstractmethod
    def dimension(self) -> int:
        """Size of the vectors."""

    @property
    @abstractmethod
    def tokenizer(self) -> PreTrainedTokenizerBase:
        """The model's tokenizer (chunk sizes are measured with it)."""

    @cached_property
    def calibration(self) -> Calibration:
        """The vector space and relevance model of this model (found by its probe vectors, once).

        Found from the vectors themselves, so a model served by an embedding server gets the
        same calibration as the same model in this process.
        """
        return find_calibration(self.encode_documents, self.dimension)

    @cached_property
    def cohort_vectors(self) -> np.ndarray:
        """The calibration's off-topic cohort as query vectors, embedded once in one batch.

        The adaptive relevance floor asks every collection these questions
        (:meth:`rag.retrieval.retriever.StoreRetriever.floor`); their vectors depend on the model
        only.
        """
        return self.encode_queries(list(self.calibration.cohort))

    @abstractmethod
    def encode_documents(
        self, texts: Sequence[str], *, token_ids: Sequence[Sequence[int] | None] | None = None
    ) -> np.ndarray:
        """Passages -> ``(n, dimension)`` float32, normalized.

        Args:
            texts: The passages.
            token_ids: Optionally, each passage's ids from the chunker (without special tokens),
                which an embedder may use instead of tokenizing the text again; one that
                cannot (a server, the ONNX graph) embeds the texts.

        """

    @abstractmethod
    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """A few queries (a conversation's turns) -> ``(n, dimension)`` float32, normalized."""

    def encode_query(self, text: str) -> np.ndarray:
        """One query -> ``(dimension,)`` float32, normalized."""
        return self.encode_queries([text])[0]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """LangChain interface: passages -> vectors."""
        return self.encode_documents(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        """LangChain interface: query -> vector."""
        return self.encode_query(text).tolist()

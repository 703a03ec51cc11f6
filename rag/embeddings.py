"""LangChain ``Embeddings`` over a sentence-transformers model, using the model's own prompts.

Retrieval models disagree on input formatting: e5 wants ``query: `` / ``passage: `` prefixes,
bge-m3 wants none. sentence-transformers records this in the model folder
(``config_sentence_transformers.json``), and ``encode_query`` / ``encode_document`` apply it, so
the adapter never hard-codes a prefix. Vectors are L2-normalized so inner product is cosine.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.embedder import TextEmbeddings
from rag.errors import ModelLoadError
from rag.models import loading, model_name, model_reference, resolve_device
from rag.threads import single_thread

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer
    from transformers import PreTrainedTokenizerBase


# Queries embedded on one thread (a question with its conversation's earlier turns).
FEW_QUERIES = 8


class SentenceTransformerEmbeddings(TextEmbeddings):
    """Embed queries and passages with a ``SentenceTransformer``.

    Args:
        model: A loaded sentence-transformers model.
        name: The configured model name or folder, recorded with each collection.
        batch_size: Texts per forward pass.

    """

    backend = "torch"  # what computes the vectors (see rag.onnx_embeddings for the others)

    def __init__(self, model: SentenceTransformer, *, name: str, batch_size: int = 32) -> None:
        self.model = model
        self.name = name
        self.batch_size = batch_size

    @classmethod
    def load(
        cls, name_or_path: str, *, device: str = "auto", batch_size: int = 32
    ) -> SentenceTransformerEmbeddings:
        """Load a model from a local folder or the hub.

        Raises:
            ModelLoadError: The folder is missing or the model cannot be loaded.

        """
        reference = model_reference(name_or_path, "embedding")
        with loading("embedding", reference):
            from sentence_transformers import SentenceTransformer

            model = SentenceTransformer(reference, device=resolve_device(device))
        return cls(model, name=model_name(name_or_path), batch_size=batch_size)

    @property
    def dimension(self) -> int:
        """Size of the vectors."""
        return self._declared(self.model.get_embedding_dimension(), "its vector size")

    @property
    def max_tokens(self) -> int:
        """The longest input the model reads; longer text is truncated by the model."""
        return self._declared(self.model.max_seq_length, "its longest input")

    def _declared(self, value: int | None, what: str) -> int:
        if value is None:  # a sentence-transformers folder without a transformer module
            msg = f"the embedding model {self.name!r} does not declare {what}"
            raise ModelLoadError(msg)
        return int(value)

    @property
    def tokenizer(self) -> PreTrainedTokenizerBase:
        """The model's tokenizer (chunk sizes are measured with it)."""
        return self.model.tokenizer

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Passages -> ``(n, dimension)`` float32, normalized."""
        return self._batched(self.model.encode_document, texts)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Queries -> ``(n, dimension)`` float32, normalized.

        A question or a conversation's few turns run on one thread: too small to split, and
        split they wait on the slowest thread of a busy machine. A batch uses every thread.
        """
        if len(texts) <= FEW_QUERIES:
            with single_thread():
                return self._batched(self.model.encode_query, texts)
        return self._batched(self.model.encode_query, texts)

    def _batched(self, encode: Callable[..., Any], texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.empty((0, self.dimension), dtype=np.float32)
        vectors = encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True)
        return np.asarray(vectors, dtype=np.float32)

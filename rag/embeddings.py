"""LangChain ``Embeddings`` over a sentence-transformers model, using the model's own prompts.

Retrieval models disagree on input formatting: e5 wants ``query: `` / ``passage: `` prefixes,
bge-m3 wants none. sentence-transformers records this in the model folder
(``config_sentence_transformers.json``), and ``encode_query`` / ``encode_document`` apply it, so
the adapter never hard-codes a prefix. Vectors are L2-normalized so inner product is cosine.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np
from langchain_core.embeddings import Embeddings

from rag.models import loading, model_name, model_reference, resolve_device

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer
    from transformers import PreTrainedTokenizerBase


class SentenceTransformerEmbeddings(Embeddings):
    """Embed queries and passages with a ``SentenceTransformer``.

    Args:
        model: A loaded sentence-transformers model.
        name: The configured model name or folder, recorded with each collection.
        batch_size: Texts per forward pass.

    """

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
        return int(self.model.get_embedding_dimension())

    @property
    def max_tokens(self) -> int:
        """The longest input the model reads; longer text is truncated by the model."""
        return int(self.model.max_seq_length)

    @property
    def tokenizer(self) -> PreTrainedTokenizerBase:
        """The model's tokenizer (chunk sizes are measured with it)."""
        return self.model.tokenizer

    def count_tokens(self, text: str) -> int:
        """Tokens ``text`` costs the embedder, without special tokens."""
        return len(self.tokenizer.encode(text, add_special_tokens=False))

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Passages -> ``(n, dimension)`` float32, normalized."""
        if not texts:
            return np.empty((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode_document(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True
        )
        return np.asarray(vectors, dtype=np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        """One query -> ``(dimension,)`` float32, normalized."""
        with _one_torch_thread():
            vector = self.model.encode_query([text], batch_size=1, normalize_embeddings=True)
        return np.asarray(vector, dtype=np.float32)[0]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """LangChain interface: passages -> vectors."""
        return self.encode_documents(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        """LangChain interface: query -> vector."""
        return self.encode_query(text).tolist()


@contextlib.contextmanager
def _one_torch_thread() -> Iterator[None]:
    """Embed one short query on one thread, then restore the process-wide setting.

    A single query is too small to split: on a 2-core machine shared with other work, two
    torch threads mostly wait for each other (multilingual-e5-small measured 170-700 ms per
    query on two threads, ~60 ms on one). Batches (ingestion) keep every thread.
    """
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)

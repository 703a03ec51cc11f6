"""LangChain ``Embeddings`` over a sentence-transformers model, using the model's own prompts.

Retrieval models disagree on input formatting: e5 wants ``query: `` / ``passage: `` prefixes,
bge-m3 wants none. sentence-transformers records this in the model folder
(``config_sentence_transformers.json``), and ``encode_query`` / ``encode_document`` apply it, so
the adapter never hard-codes a prefix. Vectors are L2-normalized so inner product is cosine.

Ingestion already tokenized every chunk to size it, so passages may come with their token ids
(:meth:`SentenceTransformerEmbeddings.encode_documents`, ``token_ids=``); those are framed the
way the model's own preprocessing frames a text (special tokens, the passage prompt, found by
encoding a probe once) and sent to the model without tokenizing the text again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.embeddings.base import TextEmbeddings
from rag.errors import ModelLoadError
from rag.runtime.models import loading, model_name, model_reference, resolve_device
from rag.runtime.threads import single_thread

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer
    from transformers import PreTrainedTokenizerBase


# Queries embedded on one thread (a question with its conversation's earlier turns).
FEW_QUERIES = 8
# Keys of the model's preprocessing output that are per-token tensors, rebuilt for each batch.
_TOKEN_FEATURES = ("input_ids", "attention_mask", "token_type_ids")


@dataclass(frozen=True)
class _Frame:
    """How the model frames a passage's tokens: ids before and after them, other features."""

    head: tuple[int, ...]
    tail: tuple[int, ...]
    extras: dict[str, Any]
    max_tokens: int


class SentenceTransformerEmbeddings(TextEmbeddings):
    """Embed queries and passages with a ``SentenceTransformer``.

    Args:
        model: A loaded sentence-transformers model.
        name: The configured model name or folder, recorded with each collection.
        batch_size: Texts per forward pass.

    """

    backend = "torch"  # what computes the vectors (see rag.embeddings.onnx for the others)

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

    def encode_documents(
        self, texts: Sequence[str], *, token_ids: Sequence[Sequence[int] | None] | None = None
    ) -> np.ndarray:
        """Passages -> ``(n, dimension)`` float32, normalized.

        Args:
            texts: The passages.
            token_ids: Optionally, for each passage, the tokenizer's ids of its text without
                special tokens (as :class:`~ingest.chunking.chunker.TokenChunker` gives them), or
                None; a passage with ids is not tokenized again.

        """
        frame = self._document_frame if token_ids is not None else None
        given = [i for i, ids in enumerate(token_ids or ()) if ids is not None] if frame else []
        vectors = np.empty((len(texts), self.dimension), dtype=np.float32)
        taken = set(given)
        rest = [i for i in range(len(texts)) if i not in taken]
        if rest:
            vectors[rest] = self._batched(self.model.encode_document, [texts[i] for i in rest])
        if given and frame is not None and token_ids is not None:
            vectors[given] = self._encode_framed([token_ids[i] or () for i in given], frame)
        return vectors

    def framed(self, token_ids: Sequence[int]) -> list[int] | None:
        """The ids the model reads for a passage with these text ids (None: ids not usable)."""
        frame = self._document_frame
        if frame is None:
            return None
        room = frame.max_tokens - len(frame.head) - len(frame.tail)
        return [*frame.head, *token_ids[:room], *frame.tail]

    @cached_property
    def _document_frame(self) -> _Frame | None:
        """The passage framing, read from the model's preprocessing of two probe texts."""
        prompt = next(
            (self.model.prompts[name] for name in ("document", "passage", "corpus")
             if name in self.model.prompts),
            None,
        )  # fmt: skip
        frames = []
        for probe in ("probe", "두 번째 probe"):
            features = self.model.preprocess([probe], prompt=prompt, task="document")
            full = [int(i) for i in features["input_ids"][0].tolist()]
            body = list(self.tokenizer(probe, add_special_tokens=False)["input_ids"])
            starts = [k for k in range(len(full)) if full[k : k + len(body)] == body]
            if len(starts) != 1:
                return None
            k = starts[0]
            extras = {key: v for key, v in features.items() if key not in _TOKEN_FEATURES}
            frames.append(_Frame(tuple(full[:k]), tuple(full[k + len(body) :]), extras, 0))
        if frames[0] != frames[1]:  # the prompt's tokens depend on the passage: no shortcut
            return None
        return _Frame(frames[0].head, frames[0].tail, frames[0].extras, self.max_tokens)

    def _encode_framed(self, token_ids: Sequence[Sequence[int]], frame: _Frame) -> np.ndarray:
        import torch

        framed = [self.framed(ids) or [] for ids in token_ids]
        order = sorted(range(len(framed)), key=lambda i: -len(framed[i]))  # little padding
        names = self.tokenizer.model_input_names
        vectors = np.empty((len(framed), self.dimension), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                batch = order[start : start + self.batch_size]
                rows = [
                    {"input_ids": framed[i]}
                    | (
                        {"token_type_ids": [0] * len(framed[i])}
                        if "token_type_ids" in names
                        else {}
                    )
                    for i in batch
                ]
                features = dict(self.tokenizer.pad(rows, return_tensors="pt"))
                features = {k: v.to(self.model.device) for k, v in features.items()}
                output = self.model({**features, **frame.extras})["sentence_embedding"]
                output = torch.nn.functional.normalize(output, p=2, dim=1)
                vectors[batch] = output.float().cpu().numpy()
        return vectors

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

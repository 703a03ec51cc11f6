"""Embeddings from an OpenAI-compatible ``/v1/embeddings`` server, with the model's prompts here.

A GPU server (Text Embeddings Inference, vLLM, Infinity, or ``bllossom-rag serve
--embedding-model``) embeds for every instance, so UI and API instances need no model in
memory. Servers differ in whether and how they apply a model's query and passage prompts
(e5's ``query: `` / ``passage: ``), so they are applied on this side and the server embeds the
text as sent: from ``embedding.query_prompt`` / ``embedding.passage_prompt`` when set, else from
the model folder's sentence-transformers configuration when it is available here, else none.
A query embedded here is then exactly the vector the in-process model makes.

The client is OpenAI's: requests in batches of ``embedding.batch_size``, a timeout per request,
retries with exponential backoff on connection errors, 408/429 and 5xx; every failure that is
left is one :class:`EmbeddingServerError` line naming the server and what to check. The first
request (a probe, when the embedder is built) learns the vector size and the model's name as
the server reports it, which the collection records and later checks.

Ingestion measures chunks with the model's tokenizer, which is loaded (small, no weights) from
``embedding.model`` when that is a folder or a cached hub name; instances that only query need
none.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import openai

from rag.embeddings.base import TextEmbeddings
from rag.errors import EmbeddingServerError, ModelLoadError
from rag.runtime.models import loading, model_reference, public_model_name

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

# sentence-transformers' prompt names, in the order its encode_document tries them.
_PASSAGE_PROMPTS = ("document", "passage", "corpus")
MAX_RETRIES = 3


def folder_prompts(folder: Path) -> tuple[str, str]:
    """The ``(query, passage)`` prompts a sentence-transformers folder declares ('' if none)."""
    try:
        config = json.loads((folder / "config_sentence_transformers.json").read_text("utf-8"))
    except (OSError, ValueError):
        return "", ""
    prompts = config.get("prompts") or {}
    default = prompts.get(config.get("default_prompt_name") or "", "")
    passage = next((prompts[name] for name in _PASSAGE_PROMPTS if name in prompts), default)
    return str(prompts.get("query", default)), str(passage)


def same_model(recorded: str, served: str) -> bool:
    """Whether a collection's recorded model and a server's model are the same model.

    Compared by their last path component, so a collection built from the folder
    ``/models/multilingual-e5-small`` matches a server reporting ``multilingual-e5-small`` or
    ``intfloat/multilingual-e5-small``.
    """
    return Path(recorded).name == Path(served).name


class ServerEmbeddings(TextEmbeddings):
    """A remote embedding model behind an OpenAI-compatible API.

    Args:
        url: The server's base URL (``.../v1``).
        model: The model to ask for (a folder is asked for by its name).
        api_key: Bearer key, if the server needs one.
        query_prompt: Prefix for queries.
        passage_prompt: Prefix for passages.
        batch_size: Texts per request.
        timeout: Seconds per request (each retry gets as long again).
        tokenizer_source: Folder or hub name of the model's tokenizer, for chunking.

    Raises:
        EmbeddingServerError: The probe request failed.

    """

    def __init__(
        self,
        url: str,
        model: str,
        *,
        api_key: str | None = None,
        query_prompt: str = "",
        passage_prompt: str = "",
        batch_size: int = 32,
        timeout: float = 60.0,
        tokenizer_source: str | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.requested = public_model_name(model)
        self.query_prompt = query_prompt
        self.passage_prompt = passage_prompt
        self.batch_size = batch_size
        self.tokenizer_source = tokenizer_source
        self._client = openai.OpenAI(
            base_url=self.url, api_key=api_key or "none", timeout=timeout, max_retries=MAX_RETRIES
        )
        probe, self.name = self._request(["dimension probe"])
        self._dimension = int(probe.shape[1])

    @property
    def dimension(self) -> int:
        """Size of the vectors (from the probe)."""
        return self._dimension

    @cached_property
    def tokenizer(self) -> PreTrainedTokenizerBase:
        """The model's tokenizer, loaded from ``tokenizer_source`` on first use.

        Raises:
            ModelLoadError: No tokenizer source is available here.

        """
        if self.tokenizer_source is None:
            msg = (
                f"ingesting through embedding.url needs {self.requested!r}'s tokenizer to size "
                "chunks; set embedding.model to its local folder or hub name"
            )
            raise ModelLoadError(msg)
        reference = model_reference(self.tokenizer_source, "embedding")
        with loading("embedding", reference):
            from transformers import AutoTokenizer

            return AutoTokenizer.from_pretrained(reference)

    def encode_documents(
        self, texts: Sequence[str], *, token_ids: Sequence[Sequence[int] | None] | None = None
    ) -> np.ndarray:
        """Passages (with the passage prompt) -> ``(n, dimension)`` float32, normalized.

        ``token_ids`` are not used: the server tokenizes what it is sent.
        """
        if not texts:
            return np.empty((0, self.dimension), dtype=np.float32)
        parts = [
            self._request([self.passage_prompt + text for text in texts[i : i + self.batch_size]])[
                0
            ]
            for i in range(0, len(texts), self.batch_size)
        ]
        return np.vstack(parts)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Queries (with the query prompt) -> ``(n, dimension)`` float32, normalized."""
        return self._request([self.query_prompt + text for text in texts])[0]

    def _request(self, inputs: list[str]) -> tuple[np.ndarray, str]:
        """One ``/v1/embeddings`` call: normalized vectors in input order, and the model name."""
        where = f"the embedding server at {self.url}"
        try:
            response = self._client.embeddings.create(model=self.requested, input=inputs)
        except openai.AuthenticationError:
            msg = f"{where} refused the API key (401); set embedding.api_key"
            raise EmbeddingServerError(msg) from None
        except openai.NotFoundError as error:
            msg = (
                f"{where} does not serve {self.requested!r} ({_reason(error)}); set "
                "embedding.model to the model it serves"
            )
            raise EmbeddingServerError(msg) from None
        except openai.APIStatusError as error:
            msg = f"{where} answered HTTP {error.status_code}: {_reason(error)}"
            raise EmbeddingServerError(msg) from None
        except openai.APIConnectionError as error:  # timeouts included
            msg = (
                f"cannot reach {where} ({error.__class__.__name__}: {error}) after "
                f"{MAX_RETRIES + 1} tries; check embedding.url and that the server runs"
            )
            raise EmbeddingServerError(msg) from None
        rows = sorted(response.data, key=lambda item: item.index)
        if [row.index for row in rows] != list(range(len(inputs))):
            msg = f"{where} returned {len(rows)} embeddings for {len(inputs)} texts"
            raise EmbeddingServerError(msg)
        matrix = np.asarray([row.embedding for row in rows], dtype=np.float32)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        if matrix.ndim != 2 or not np.all(np.isfinite(matrix)) or not np.all(norms > 0):
            msg = f"{where} returned malformed embeddings (not finite, non-zero vectors)"
            raise EmbeddingServerError(msg)
        return matrix / norms, str(response.model or self.requested)


def _reason(error: openai.APIStatusError) -> str:
    body = error.body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        body = body["error"]
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])[:300]
    return str(error.message)[:300]

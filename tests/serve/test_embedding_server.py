"""Embeddings through our own worker's ``/v1/embeddings``, with OpenAI's client as the caller.

The worker (``bllossom-rag serve --embedding-model``) runs for real on a thread with the real
multilingual-e5-small; :class:`ServerEmbeddings` talks to it over HTTP. Vectors must equal the
in-process model's (so the e5 prompts really are applied on the client side), batches must
split as configured, and every failure a user can cause (key, model, limits, no server) must be
one line. A collection built with another model is refused.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from devkit.models import EMBEDDING_MODEL
from rag.assistant import Assistant
from rag.config import Settings
from rag.embeddings.remote import ServerEmbeddings, folder_prompts
from rag.errors import EmbeddingMismatchError, EmbeddingServerError, ModelLoadError
from serve.http.server import BackgroundServer
from serve.worker import WorkerOptions, create_app

KEY = "embedding-test-key"
TEXTS = [
    "연차 휴가는 입사 첫해에 최대 11일까지 사용할 수 있습니다.",
    "Passwords must be at least twelve characters long.",
    "출장 경비는 귀국 후 일주일 안에 정산합니다.",
    "The cafeteria serves lunch at noon.",
    "보안 사고는 즉시 보안팀에 신고해야 합니다.",
]


@pytest.fixture(scope="module")
def worker(chat_model, embeddings) -> Iterator[BackgroundServer]:
    options = WorkerOptions(model_id="tiny", api_key=KEY, max_embedding_inputs=8)
    with BackgroundServer(create_app(chat_model, options, embeddings)) as server:
        deadline = time.monotonic() + 120
        while not httpx.get(f"{server.url}/health").json()["ready"]:  # models warm up on threads
            assert time.monotonic() < deadline, "the worker never became ready"
            time.sleep(0.1)
        yield server


def client(worker: BackgroundServer, **kwargs) -> ServerEmbeddings:
    query, passage = folder_prompts(Path(EMBEDDING_MODEL))
    arguments = {
        "api_key": KEY,
        "query_prompt": query,
        "passage_prompt": passage,
        "tokenizer_source": EMBEDDING_MODEL,
        **kwargs,
    }
    return ServerEmbeddings(f"{worker.url}/v1", EMBEDDING_MODEL, **arguments)


def embedding_requests(worker: BackgroundServer, status: int) -> int:
    text = httpx.get(f"{worker.url}/metrics", headers={"Authorization": f"Bearer {KEY}"}).text
    line = f'bllossom_worker_requests_total{{route="/v1/embeddings",status="{status}"}} '
    return next((int(row.split()[-1]) for row in text.splitlines() if row.startswith(line)), 0)


@pytest.mark.slow
def test_server_vectors_equal_the_in_process_model(worker, embeddings):
    remote = client(worker, batch_size=2)
    assert remote.name == Path(EMBEDDING_MODEL).name
    assert remote.dimension == embeddings.dimension
    before = embedding_requests(worker, 200)
    documents = remote.encode_documents(TEXTS)
    assert embedding_requests(worker, 200) - before == 3  # 5 texts in batches of 2
    np.testing.assert_allclose(documents, embeddings.encode_documents(TEXTS), atol=2e-5)
    for text in TEXTS[:2]:
        np.testing.assert_allclose(
            remote.encode_query(text), embeddings.encode_query(text), atol=2e-5
        )
    # The prompts matter: without them the server's vector is another one.
    bare = client(worker, query_prompt="", passage_prompt="")
    unprompted = bare.encode_query(TEXTS[0])
    assert not np.allclose(unprompted, embeddings.encode_query(TEXTS[0]), atol=1e-3)
    assert remote.tokenizer("안녕하세요")["input_ids"]


@pytest.mark.slow
def test_failures_are_one_line(worker):
    before = embedding_requests(worker, 401)
    with pytest.raises(EmbeddingServerError, match="refused the API key") as wrong_key:
        client(worker, api_key="wrong")
    assert embedding_requests(worker, 401) - before == 1  # a refusal is not retried
    with pytest.raises(EmbeddingServerError, match="does not serve 'BAAI/bge-m3'"):
        ServerEmbeddings(f"{worker.url}/v1", "BAAI/bge-m3", api_key=KEY)
    with pytest.raises(EmbeddingServerError, match="HTTP 400: input: 9 texts"):
        client(worker, batch_size=9).encode_documents(TEXTS + TEXTS)
    with pytest.raises(ModelLoadError, match=r"set embedding\.model to its local folder"):
        client(worker, tokenizer_source=None).tokenizer  # noqa: B018  (a query-only instance)
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(EmbeddingServerError, match="after 4 tries") as unreachable:
        ServerEmbeddings(f"http://127.0.0.1:{port}/v1", EMBEDDING_MODEL, timeout=2)
    for error in (wrong_key, unreachable):
        assert "\n" not in str(error.value)


@pytest.mark.slow
def test_a_collection_of_another_model_is_refused(worker, tmp_path: Path):
    settings = Settings(
        data_dir=tmp_path,
        embedding={"model": EMBEDDING_MODEL, "url": f"{worker.url}/v1", "api_key": KEY},
    )
    assistant = Assistant(settings)
    try:
        assistant.store.ensure_collection("other", "BAAI/bge-m3", 384)
        assistant.store.ensure_collection("same", "/models/multilingual-e5-small", 384)
        assert assistant.embeddings_for("same").name == "multilingual-e5-small"
        with pytest.raises(EmbeddingMismatchError, match="built with 'BAAI/bge-m3'"):
            assistant.embeddings_for("other")
    finally:
        assistant.close()

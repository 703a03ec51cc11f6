"""Shared fixtures: real models, built once per session, located through configuration.

Models are located by :mod:`devkit.models` (their variables, else the offline folders
``tools/offline_models.py`` writes, else the hub names). Tests never special-case a model: the
same code runs on the tiny offline model and on the real one. Helpers live in ``tests/support``
(one copy each); what the benchmarks use too lives in ``devkit``.

The command line is tested in-process through Typer's ``CliRunner`` (:class:`Cli`), against
``examples/`` ingested once per session (:func:`examples_data`); models load once per process
because the assembly shares them. One test in ``test_cli.py`` runs the installed console script.
A developer's own ``bllossom-rag.toml`` never reaches a test: the session points
``BLLOSSOM_RAG_CONFIG`` at an empty file.

Two embedders serve the in-process tests: :func:`embeddings` (sentence-transformers on torch,
for what is about that class: its token ids, its vectors as the reference) and
:func:`default_embeddings` (the default backend, ONNX Runtime fp32, for the retrieval-quality
tests: it embeds KorQuAD for about two thirds of torch's CPU time). The ONNX graph is exported
once per session into a session folder (:func:`onnx_cache`), which the command line in this
process and in child processes reads too, so no test exports it again and none depends on, or
writes to, the user's own cache.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devkit.datasets import DatasetMissingError, dataset
from devkit.models import EMBEDDING_MODEL, EXAMPLES, GENERATOR_MODEL, REPO, command_environment
from devkit.postgres import LocalPostgres
from ingest.pipeline import Ingestor
from rag.assistant import Assistant
from rag.config import Settings
from rag.embeddings.onnx import OnnxEmbeddings
from rag.embeddings.torch import SentenceTransformerEmbeddings
from rag.generation.llm import ChatBllossom, load_processor
from rag.store import Store
from tests.support.cli import Cli
from tests.support.data import ExamplesData, KorQuAD
from tests.support.forks import Forks

os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A test that needs a shared dataset it cannot find fails with that one line."""
    report = yield
    if call.excinfo is not None and call.excinfo.errisinstance(DatasetMissingError):
        report.longrepr = f"{item.nodeid}: {call.excinfo.value}"
    return report


@pytest.fixture(scope="session")
def embedding_model() -> str:
    return EMBEDDING_MODEL


@pytest.fixture(scope="session")
def generator_model() -> str:
    return GENERATOR_MODEL


@pytest.fixture(scope="session")
def embeddings() -> SentenceTransformerEmbeddings:
    """The real embedder, loaded once (it is stateless, so sharing it is safe)."""
    return SentenceTransformerEmbeddings.load(EMBEDDING_MODEL, device="cpu")


@pytest.fixture(scope="session", autouse=True)
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """This session's ``embedding_cache_dir``: the ONNX exports of every test and child process."""
    folder = tmp_path_factory.mktemp("embedding-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BLLOSSOM_RAG_EMBEDDING__CACHE_DIR", str(folder))
        yield folder


@pytest.fixture(scope="session")
def default_embeddings(onnx_cache: Path) -> OnnxEmbeddings:
    """The default backend's embedder (ONNX fp32 on the CPU), exported once per session.

    Built by the assembly, so it is the very instance the in-process command line uses with
    :func:`cli_settings` (the assembly shares loaded models).
    """
    settings = Settings(device="cpu", embedding={"model": EMBEDDING_MODEL, "cache_dir": onnx_cache})
    embedder = Assistant(settings).embeddings
    assert isinstance(embedder, OnnxEmbeddings) and embedder.backend == "onnx", embedder
    return embedder


@pytest.fixture(scope="session")
def processor():
    return load_processor(GENERATOR_MODEL)


@pytest.fixture(scope="session")
def chat_model() -> ChatBllossom:
    """The generator, loaded once; greedy and short so tests are quick and repeatable."""
    model = ChatBllossom(
        model_name=GENERATOR_MODEL, device="cpu", max_new_tokens=12, temperature=0.0
    )
    model.model  # noqa: B018  (load now, not inside the first test's timing)
    return model


@pytest.fixture(scope="session")
def tiny_cross_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real sentence-transformers ``CrossEncoder`` folder with random weights (2 layers, 32-d).

    The hub's rerankers cannot be downloaded here; this one proves the plumbing (loading from a
    folder, scoring pairs, reordering) with the real classes, not the ranking quality.
    """
    from transformers import AutoTokenizer, XLMRobertaConfig, XLMRobertaForSequenceClassification

    folder = tmp_path_factory.mktemp("tiny-cross-encoder")
    tokenizer = AutoTokenizer.from_pretrained(EMBEDDING_MODEL)
    config = XLMRobertaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=514,
        pad_token_id=tokenizer.pad_token_id,
        num_labels=1,
    )
    XLMRobertaForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def forks(onnx_cache: Path) -> Iterator[Forks]:
    """Second processes for the tests that need one, forked from one warm interpreter.

    Started after :func:`onnx_cache`, so it and its children read the session's ONNX exports.
    """
    server = Forks(REPO)
    yield server
    server.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "data") as opened:
        yield opened


@pytest.fixture(scope="session")
def postgres() -> Iterator[LocalPostgres]:
    """A real PostgreSQL + pgvector server for the session (see :mod:`devkit.postgres`)."""
    server = LocalPostgres()
    yield server
    server.stop()


@pytest.fixture
def store_url(postgres: LocalPostgres) -> Iterator[str]:
    """The URL of a fresh PostgreSQL database for this test."""
    url = postgres.database()
    yield url
    postgres.drop(url)


@pytest.fixture
def examples_copy(tmp_path: Path) -> Path:
    """A private copy of ``examples/`` that a test may modify."""
    target = tmp_path / "examples"
    shutil.copytree(EXAMPLES, target)
    return target


@pytest.fixture(scope="session", autouse=True)
def _no_developer_config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every test reads an empty configuration file, not the checkout's bllossom-rag.toml."""
    empty = tmp_path_factory.mktemp("config") / "bllossom-rag.toml"
    empty.write_text("", encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BLLOSSOM_RAG_CONFIG", str(empty))
        yield


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """Environment for running the real ``bllossom-rag`` console script in a subprocess."""
    return {**os.environ, **command_environment(tmp_path / "cli-data")}


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """The command line on an empty store of this test's own."""
    return Cli(dict(command_environment(tmp_path / "cli-data")))


@pytest.fixture(scope="session")
def examples_data(tmp_path_factory: pytest.TempPathFactory) -> ExamplesData:
    """``bllossom-rag ingest examples/ --json`` once per session (read-only: copy to change)."""
    data_dir = tmp_path_factory.mktemp("examples-store") / "data"
    report = Cli(dict(command_environment(data_dir))).json("ingest", str(EXAMPLES))
    return ExamplesData(data_dir, report)


@pytest.fixture
def examples_cli(examples_data: ExamplesData, tmp_path: Path) -> Cli:
    """The command line on a private copy of the session's ingested ``examples/``."""
    data_dir = tmp_path / "cli-data"
    shutil.copytree(examples_data.data_dir, data_dir)
    return Cli(dict(command_environment(data_dir)))


@pytest.fixture(scope="session")
def korquad(
    default_embeddings: OnnxEmbeddings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KorQuAD]:
    """The whole KorQuAD dev corpus (964 paragraphs) in a store; read-only for tests.

    Embedded with the default backend (search it with :func:`default_embeddings`). Embedding
    costs about 0.15 CPU-second per chunk, so every test that needs real Korean retrieval
    shares this one store. It stays whole: on the 345 paragraphs of the articles the
    follow-up set is about, a follow-up alone already finds .875 of its passages and the
    history can show no gain, and BM25 alone matches hybrid at recall@1 (both measured), so a
    smaller store would no longer test what these tests are for.
    """
    root = tmp_path_factory.mktemp("korquad")
    squad = json.loads(dataset("KorQuAD_v1.0_dev.json").read_text(encoding="utf-8"))
    corpus = root / "corpus"
    corpus.mkdir()
    questions: list[tuple[str, str]] = []
    paragraphs = 0
    for article in squad["data"]:
        for paragraph in article["paragraphs"]:
            name = f"p{paragraphs:04d}.txt"
            (corpus / name).write_text(paragraph["context"], encoding="utf-8")
            questions.extend((qa["question"], name) for qa in paragraph["qas"])
            paragraphs += 1
    with Store(root / "data") as store:
        Ingestor(
            store,
            default_embeddings,
            chunk_tokens=256,
            chunk_overlap=32,
            max_file_bytes=1_000_000,
        ).ingest([corpus], collection="korquad")
        yield KorQuAD(
            store=store,
            collection="korquad",
            corpus=corpus,
            sample=random.Random(0).sample(questions, 200),
            paragraphs=paragraphs,
        )

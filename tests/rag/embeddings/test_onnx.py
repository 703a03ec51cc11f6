"""The ONNX Runtime backend against torch: the same vectors, the same prompts, one cached export.

The fp32 graph is the session's (``tests/conftest.py``: exported once into ``onnx_cache``, and
shared with the command line and the retrieval-quality tests); the int8 graph is quantized
from it here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from devkit.models import EMBEDDING_MODEL
from rag.embeddings.factory import load_embeddings
from rag.embeddings.onnx import OnnxEmbeddings, model_key
from rag.embeddings.torch import SentenceTransformerEmbeddings
from rag.errors import ModelLoadError

TEXTS = [
    "비밀번호는 최소 몇 자 이상이어야 하나요?",
    "Passwords must be at least 14 characters long and must be changed every 180 days.",
    "연차",
    # Past the model's 512 tokens: truncation must be sentence-transformers' own.
    "출장 경비는 영수증을 첨부해 30일 안에 청구합니다. " * 80,
]


@pytest.fixture(scope="session")
def onnx_fp32(default_embeddings: OnnxEmbeddings) -> OnnxEmbeddings:
    """The session's default embedder: its graph is the session's one fp32 export."""
    return default_embeddings


@pytest.fixture(scope="session")
def onnx_int8(onnx_cache: Path, onnx_fp32: OnnxEmbeddings) -> OnnxEmbeddings:
    return OnnxEmbeddings.load_onnx(EMBEDDING_MODEL, quantize=True, cache_dir=onnx_cache)


def export_folder(cache: Path, model: OnnxEmbeddings, *, quantize: bool) -> Path:
    """Where ``cache`` keeps the graph of ``model`` (the folder name is the model's key)."""
    return cache / "onnx" / model_key(model.model, quantize)


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1)


@pytest.mark.slow
def test_fp32_vectors_match_torch_for_passages_and_queries(
    onnx_fp32: OnnxEmbeddings, embeddings: SentenceTransformerEmbeddings
):
    passages = cosines(onnx_fp32.encode_documents(TEXTS), embeddings.encode_documents(TEXTS))
    queries = cosines(onnx_fp32.encode_queries(TEXTS), embeddings.encode_queries(TEXTS))
    one = np.array([onnx_fp32.encode_query(t) @ embeddings.encode_query(t) for t in TEXTS])
    assert passages.min() > 1 - 1e-3 and queries.min() > 1 - 1e-3 and one.min() > 1 - 1e-3
    # The prompts differ (query: / passage:), so the two kinds must differ too; only for short
    # texts, since in the 512-token one the prompt is 2 tokens of the mean (cosine .998).
    short = TEXTS[:3]
    assert cosines(onnx_fp32.encode_queries(short), onnx_fp32.encode_documents(short)).max() < 0.99
    assert np.allclose(np.linalg.norm(onnx_fp32.encode_documents(TEXTS), axis=1), 1.0, atol=1e-5)
    assert onnx_fp32.encode_documents([]).shape == (0, embeddings.dimension)


@pytest.mark.slow
def test_the_export_is_cached_and_reused(onnx_cache: Path, onnx_fp32: OnnxEmbeddings):
    export = export_folder(onnx_cache, onnx_fp32, quantize=False)
    stamp = (export / "model.onnx").stat().st_mtime_ns
    exports = set((onnx_cache / "onnx").iterdir())
    again = OnnxEmbeddings.load_onnx(EMBEDDING_MODEL, quantize=False, cache_dir=onnx_cache)
    assert (export / "model.onnx").stat().st_mtime_ns == stamp  # found, not exported again
    assert set((onnx_cache / "onnx").iterdir()) == exports  # nor exported elsewhere
    assert np.allclose(again.encode_documents(TEXTS[:2]), onnx_fp32.encode_documents(TEXTS[:2]))
    assert not [p for p in (onnx_cache / "onnx").iterdir() if p.name.startswith(".export-")]


@pytest.mark.slow
def test_int8_vectors_stay_close_to_torch_and_the_graph_is_smaller(
    onnx_cache: Path, onnx_int8: OnnxEmbeddings, embeddings: SentenceTransformerEmbeddings
):
    close = cosines(onnx_int8.encode_documents(TEXTS[:3]), embeddings.encode_documents(TEXTS[:3]))
    assert close.min() > 0.97
    assert onnx_int8.backend == "onnx-int8"
    sizes = {
        quantize: (export_folder(onnx_cache, onnx_int8, quantize=quantize) / "model.onnx")
        .stat()
        .st_size
        for quantize in (True, False)
    }
    assert sizes[True] < sizes[False] / 2


@pytest.mark.slow
def test_int8_keeps_the_same_best_passage(
    onnx_int8: OnnxEmbeddings, embeddings: SentenceTransformerEmbeddings
):
    passages = [
        "Passwords must be at least 14 characters long.",
        "연차 휴가는 입사 첫해에 11일입니다.",
        "출장 경비는 영수증을 첨부해 30일 안에 청구합니다.",
        "The VPN requires a hardware token.",
    ]
    questions = ["비밀번호는 몇 자 이상이어야 하나요?", "How many days of annual leave?",
                 "출장비는 언제까지 청구하나요?", "What does the VPN need?"]  # fmt: skip
    # Compared where retrieval compares them, in the model's language-neutral space: on raw
    # vectors the language pull leaves the cross-language pair a 0.01 margin even with torch,
    # and int8 flips it (the int8 recall loss in docs/benchmarks.md is mostly such pairs).
    for model in (embeddings, onnx_int8):
        space = model.calibration.space
        queries = np.vstack([space.query_vector(v) for v in model.encode_queries(questions)])
        scores = queries @ space.passages(model.encode_documents(passages)).T
        assert scores.argmax(axis=1).tolist() == [0, 1, 2, 3]


def test_onnx_refuses_a_backend_name_it_does_not_know():
    with pytest.raises(ModelLoadError):
        load_embeddings(str(Path("/nonexistent/model")), backend="onnx")

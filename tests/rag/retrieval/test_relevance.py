"""Calibrated relevance and the floor: off-topic questions get nothing, in-domain ones answers."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from devkit.models import EMBEDDING_MODEL
from rag.assistant import Assistant
from rag.config import Settings
from rag.embeddings.calibration import CALIBRATIONS, UNCALIBRATED, find_calibration
from rag.retrieval.relevance import COHORT_QUANTILE, LOWEST_FLOOR, cohort_floor
from rag.retrieval.retriever import StoreRetriever
from tests.support.data import ExamplesData

OFF_TOPIC = [
    "What is the weather in Paris tomorrow?",
    "내일 점심 뭐 먹을까?",
    "Who won the football match last night?",
    "주말에 볼 만한 영화 추천해 줘.",
]
IN_DOMAIN = {
    "비밀번호는 최소 몇 자 이상이어야 하나요?": "security-policy.md",
    "연차 휴가는 며칠인가요?": "휴가_정책.md",
    "출장 경비는 언제까지 청구해야 하나요?": "출장_경비.txt",
    "How many characters must a password have?": "security-policy.md",
}


@pytest.fixture
def examples_assistant(examples_data: ExamplesData, tmp_path: Path) -> Iterator[Assistant]:
    """The session's ingested ``examples/`` with the default settings (floor included)."""
    data_dir = tmp_path / "data"
    shutil.copytree(examples_data.data_dir, data_dir)
    assistant = Assistant(
        Settings(data_dir=data_dir, device="cpu", embedding={"model": EMBEDDING_MODEL})
    )
    yield assistant
    assistant.close()


@pytest.mark.slow
def test_off_topic_questions_over_the_examples_get_no_documents(examples_assistant: Assistant):
    retriever = examples_assistant.retriever()
    assert retriever.min_relevance == Settings().retrieval.min_relevance > 0
    for question in OFF_TOPIC:
        assert retriever.invoke(question) == [], question


@pytest.mark.slow
def test_in_domain_questions_keep_their_passage(examples_assistant: Assistant):
    retriever = examples_assistant.retriever()
    for question, source in IN_DOMAIN.items():
        documents = retriever.invoke(question)
        assert source in [Path(d.metadata["source"]).name for d in documents], question


@pytest.mark.slow
def test_every_mode_shows_the_calibrated_relevance_as_the_score(examples_assistant: Assistant):
    question = next(iter(IN_DOMAIN))
    for mode in ("dense", "bm25", "hybrid"):
        retriever = examples_assistant.retriever(mode=mode)
        retriever.min_relevance = 0.0
        documents = retriever.invoke(question)
        assert documents, mode
        for document in documents:
            relevance = document.metadata["relevance"]
            assert document.metadata["score"] == relevance and 0.0 <= relevance <= 1.0
        floored = examples_assistant.retriever(mode=mode)
        floored.min_relevance, floored.relevance_floor = 0.5, "fixed"
        kept = floored.invoke(question)
        assert all(d.metadata["relevance"] >= 0.5 for d in kept)
        assert {d.id for d in kept} <= {d.id for d in documents}


@pytest.mark.slow
def test_the_shipped_calibration_is_found_by_the_model_and_not_by_another(embeddings):
    assert embeddings.calibration.name == "multilingual-e5-small"
    assert embeddings.calibration.relevance is not None
    rng = np.random.default_rng(0)

    def other_model(texts):
        vectors = rng.standard_normal((len(texts), embeddings.dimension)).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    assert find_calibration(other_model, embeddings.dimension) is UNCALIBRATED
    assert find_calibration(embeddings.encode_documents, embeddings.dimension + 1) is UNCALIBRATED


@pytest.mark.slow
def test_a_damaged_calibration_file_is_skipped(tmp_path: Path, embeddings, caplog):
    for path in CALIBRATIONS.iterdir():
        shutil.copy(path, tmp_path / path.name)
    [npz] = tmp_path.glob("*.npz")
    npz.write_bytes(b"not a numpy file")
    with caplog.at_level("WARNING"):
        found = find_calibration(embeddings.encode_documents, embeddings.dimension, tmp_path)
    assert found is UNCALIBRATED
    assert "ignoring calibration" in caplog.text and npz.name in caplog.text


@pytest.mark.slow
def test_without_a_calibration_no_floor_applies(examples_assistant: Assistant, caplog):
    base = examples_assistant.retriever()
    retriever = StoreRetriever(
        store=base.store,
        embeddings=base.embeddings,
        collection=base.collection,
        min_relevance=0.99,
        calibration=UNCALIBRATED,
    )
    with caplog.at_level("WARNING"):
        documents = retriever.invoke(OFF_TOPIC[0])
    assert len(documents) == retriever.k  # nothing dropped: the number is a cosine
    assert "min_relevance is not applied" in caplog.text


def test_the_cohort_floor_is_the_quantile_within_its_bounds():
    spread = [i / 100 for i in range(100)]  # 0.00 .. 0.99
    assert cohort_floor([0.001] * 20, 0.05) == LOWEST_FLOOR  # never near zero
    assert cohort_floor(spread, 0.05) == 0.05  # never above min_relevance
    assert cohort_floor(spread, 1.0) == pytest.approx(np.quantile(spread, COHORT_QUANTILE))
    assert cohort_floor(spread, 0.0) == 0.0 and cohort_floor([], 0.05) == 0.05


@pytest.mark.slow
def test_the_adaptive_floor_refuses_the_cohort_in_a_focused_collection(
    examples_assistant: Assistant,
):
    retriever = examples_assistant.retriever()
    cohort = retriever.embeddings.calibration.cohort
    assert retriever.relevance_floor == "adaptive" and len(cohort) >= 20
    floor = retriever.floor()
    # A handbook is far from weather and football: the floor comes down, not to nothing.
    assert LOWEST_FLOOR <= floor < retriever.min_relevance
    refused = sum(not retriever.invoke(question) for question in cohort)
    assert refused >= COHORT_QUANTILE * len(cohort)
    fixed = retriever.model_copy(update={"relevance_floor": "fixed"})
    assert fixed.floor() == retriever.min_relevance
    # What the lower floor buys: every result the fixed floor keeps, and maybe more.
    question = "How many characters must a password have?"
    assert {d.id for d in fixed.invoke(question)} <= {d.id for d in retriever.invoke(question)}

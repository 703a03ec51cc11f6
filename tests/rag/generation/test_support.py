"""The support check: an answer's cited sentences, and whether their passages say them."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.documents import Document

from devkit.models import EMBEDDING_MODEL, EXAMPLES, GENERATOR_MODEL
from ingest.pipeline import Ingestor
from rag.assistant import Assistant
from rag.config import Settings
from rag.generation.result import ChainResult
from rag.generation.support import SupportCheck, cited_sentences, support_model


def test_sentences_are_cut_and_marks_after_a_sentence_belong_to_it():
    answer = (
        "입사 첫해에는 최대 11일입니다. [1] 병가는 60일까지 [2, 3]. Passwords are long [4][1].\n끝."
    )
    found = cited_sentences(answer)
    assert [(s.text, s.citations) for s in found] == [
        ("입사 첫해에는 최대 11일입니다.", (1,)),
        ("병가는 60일까지.", (2, 3)),
        ("Passwords are long.", (4, 1)),
    ]
    assert [answer[s.start : s.end] for s in found] == [
        "입사 첫해에는 최대 11일입니다. [1]",
        "병가는 60일까지 [2, 3].",
        "Passwords are long [4][1].",
    ]
    assert cited_sentences("No citation at all. 출처 없음.") == []


def test_e5_small_ships_a_support_model():
    model = support_model("multilingual-e5-small")
    assert model is not None and 0 < model.threshold < 1
    assert support_model("no-such-embedder") is None


@pytest.fixture(scope="module")
def examples(default_embeddings, tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    data = tmp_path_factory.mktemp("support") / "data"
    settings = Settings(
        data_dir=data,
        device="cpu",
        embedding={"model": EMBEDDING_MODEL},
        generation={"model": GENERATOR_MODEL, "scripted_answer": "{1} [1]"},
    )
    assistant = Assistant(settings)
    Ingestor.from_settings(settings, assistant.store, assistant.embeddings).ingest(
        [EXAMPLES], collection="default"
    )
    return assistant


@pytest.mark.parametrize(
    ("question", "script", "supported"),
    [
        ("입사 첫해에는 연차 휴가를 최대 며칠까지 쓸 수 있나요?", "{1} [1]", True),
        ("How long must passwords be?", "{1} [1]", True),
        # The same sentences, citing a passage that does not say them.
        ("입사 첫해에는 연차 휴가를 최대 며칠까지 쓸 수 있나요?", "{1} [2]", False),
        ("How long must passwords be?", "{1} [3]", False),
    ],
)
def test_a_true_citation_is_supported_and_a_wrong_one_is_not(
    examples: Assistant, question: str, script: str, supported: bool
):
    chain = examples.chain(
        llm=examples.llm.model_copy(update={"script": script}), k=5
    )  # the scripted model, another template
    result = ChainResult.of(chain.invoke({"question": question}))
    [checked] = examples.check_support(result)
    assert checked.supported is supported, (result.answer, checked.scores)
    assert checked.sentence.citations == (int(script[-2]),)
    assert len(checked.scores) == 1 and 0.0 <= checked.scores[0] <= 1.0


def test_a_number_that_names_no_passage_is_not_support(examples: Assistant):
    documents = [
        Document(page_content="연차는 11일입니다.", metadata={"id": "x", "collection": "default"})
    ]
    check = SupportCheck.for_embeddings(examples.embeddings, examples.store)
    [checked] = check.check("연차는 11일입니다 [7].", documents)
    assert checked.scores == (0.0,) and not checked.supported


def test_a_passage_removed_since_it_was_found_is_embedded_again(examples: Assistant):
    text = "Passwords must be at least 14 characters long."
    gone = Document(page_content=text, metadata={"id": "gone", "collection": "default"})
    check = SupportCheck.for_embeddings(examples.embeddings, examples.store)
    [checked] = check.check(f"{text} [1]", [gone])
    assert checked.supported


def test_the_check_can_be_turned_off(examples: Assistant, tmp_path: Path):
    settings = examples.settings.model_copy(
        update={
            "generation": examples.settings.generation.model_copy(update={"check_support": False})
        }
    )
    result = ChainResult.of(examples.chain().invoke({"question": "How long must passwords be?"}))
    assert examples.check_support(result)
    assert Assistant(settings).check_support(result) == []

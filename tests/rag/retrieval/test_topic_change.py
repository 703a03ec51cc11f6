"""Topic changes: a turn that leaves its conversation gets what it gets asked alone."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from devkit.models import EMBEDDING_MODEL, GENERATOR_MODEL
from rag.assistant import Assistant
from rag.config import Settings
from rag.generation.no_answer import NO_ANSWER
from rag.generation.result import AnswerStream, ChainResult
from rag.retrieval.topic_change import refers_back
from tests.support.data import ExamplesData

PRICE = "한빛 클라우드 노트 팀 요금제는 한 달에 얼마인가요?"
FOLLOW_UP = "그럼 엔터프라이즈는요?"
WEATHER = "내일 부산 날씨 어때요?"


@pytest.mark.parametrize(
    "question",
    [
        "그걸 발행하고 관리하는 핵심 기법은요?",
        "그가 진사시에 급제한 해는요?",
        "그분의 아버지 이름은요?",
        "그럼 병가는요?",
        "그 서킷은 누가 설계했어요?",
        "이 제도는 언제 생겼나요?",
        "그리고 대통령은?",
        "How is it encrypted?",
        "What about the Enterprise plan?",
        "And for a service outage?",
        "What does the amendment bill change about that?",
    ],
)
def test_questions_that_point_back_at_the_conversation_refer_back(question: str):
    assert refers_back(question)


@pytest.mark.parametrize(
    "question",
    [
        WEATHER,
        "이번 주 토요일에 비 온대요?",
        "그런데 오늘 점심 뭐 먹을까요?",  # 그런데 opens a new subject as often as not
        "병가는 며칠인가요?",
        "요금제는요?",  # Kiwi reads this 요 as a determiner: it is the polite ending
        "Will it be sunny in Busan tomorrow?",
        "Is it better to rent or buy a car?",
        "Which laptop is best for gaming this year?",
    ],
)
def test_questions_about_something_new_do_not(question: str):
    assert not refers_back(question)


def examples_settings(examples_data: ExamplesData, folder: Path, **sections: object) -> Settings:
    """A copy of the session's ingested ``examples/``, default retrieval, the scripted answerer."""
    data_dir = folder / "data"
    shutil.copytree(examples_data.data_dir, data_dir)
    return Settings(
        data_dir=data_dir,
        device="cpu",
        embedding={"model": EMBEDDING_MODEL},
        generation={"model": GENERATOR_MODEL, "scripted_answer": "{1} [1]"},
        **sections,
    )


@pytest.fixture
def examples_assistant(examples_data: ExamplesData, tmp_path: Path) -> Iterator[Assistant]:
    assistant = Assistant(examples_settings(examples_data, tmp_path))
    yield assistant
    assistant.close()


def turn(assistant: Assistant, question: str, history: list[BaseMessage]) -> ChainResult:
    stream = AnswerStream(assistant.chain(), {"question": question, "history": list(history)})
    for _ in stream:
        pass
    history += [HumanMessage(content=question), AIMessage(content=stream.result.answer)]
    return stream.result


@pytest.mark.slow
def test_weather_after_price_questions_is_not_answered_from_the_price_list(
    examples_assistant: Assistant,
):
    history: list[BaseMessage] = []
    price = turn(examples_assistant, PRICE, history)
    assert "제품_소개.md" in [Path(s.source).name for s in price.sources]
    follow_up = turn(examples_assistant, FOLLOW_UP, history)
    assert "제품_소개.md" in [Path(s.source).name for s in follow_up.sources]  # keeps its gain
    weather = turn(examples_assistant, WEATHER, history)
    assert weather.sources == []
    assert weather.answer == NO_ANSWER["ko"]
    alone = turn(examples_assistant, WEATHER, [])
    assert (alone.answer, alone.sources) == (weather.answer, weather.sources)


@pytest.mark.slow
def test_without_the_rule_the_history_finds_the_price_list_again(examples_data, tmp_path):
    off = {"topic_changes": False}
    assistant = Assistant(examples_settings(examples_data, tmp_path, conversation=off))
    try:
        history: list[BaseMessage] = []
        turn(assistant, PRICE, history)
        turn(assistant, FOLLOW_UP, history)
        assert turn(assistant, WEATHER, history).sources  # the stale context the rule refuses
    finally:
        assistant.close()

"""The token budget: exact counts without the image processor, and the order things give way."""

from __future__ import annotations

import threading

import pytest
from langchain_core.documents import Document
from langchain_core.messages import AIMessage, HumanMessage
from PIL import Image

from devkit.budget_baseline import quadratic_fit
from rag.errors import ConfigError, PromptTooLongError
from rag.generation.budget import MIN_PASSAGE_TOKENS, PromptBudget
from rag.generation.chat_format import image_block
from rag.generation.image_tokens import ImageTokens
from rag.generation.llm import encode_prompt
from rag.generation.prompt import PromptImage, build_messages, history_messages
from rag.images import encode_data_url
from rag.runtime.cancel import Cancelled, cancellable
from tests.support.tokenizers import CountingTokenizer

QUESTION = "이 화면에서 연차 신청은 어떻게 하나요?"
DOCS = [
    Document(
        page_content="연차 휴가는 입사 첫해에 최대 11일까지 쓸 수 있다. " * 6,
        metadata={"source": "/d/휴가.md", "page": None, "kind": "text"},
    ),
    Document(
        page_content="연차 신청 화면: 시작일과 종료일을 고르고 승인자를 지정한다.",
        metadata={"source": "/d/guide.pdf", "page": 4, "kind": "image"},
    ),
    Document(
        page_content="Annual leave requests need approval from a team lead. " * 8,
        metadata={"source": "/d/policy-en.md", "page": None, "kind": "text"},
    ),
]


def slot(width: int, height: int, number: int | None = None) -> PromptImage:
    image = Image.new("RGB", (width, height), "teal")
    return PromptImage(image_block(encode_data_url(image)), width, height, number=number)


def processor_count(processor, documents, images) -> int:
    """What the real processor makes of the same prompt (pixels and all)."""
    return encode_prompt(processor, build_messages(QUESTION, documents, images=images)).token_count


@pytest.fixture(scope="module")
def budget(processor) -> PromptBudget:
    return PromptBudget.from_processor(processor, limit=100_000)


@pytest.mark.parametrize(
    "images",
    [[], [slot(640, 480)], [slot(1000, 100, number=2)], [slot(640, 480), slot(37, 23, number=2)]],
    ids=["text-only", "user-image", "retrieved-image", "both"],
)
def test_count_is_exactly_what_the_processor_produces(processor, budget, images):
    assert budget.count(QUESTION, DOCS, images) == processor_count(processor, DOCS, images)


@pytest.mark.parametrize(
    ("width", "height"),
    [(336, 336), (1024, 1024), (1920, 1080), (100, 1000), (37, 23), (1009, 335)],
)
def test_image_cost_is_the_processors_own_expansion(processor, budget, width, height):
    """The count comes from transformers' code, and equals what the processor really expands."""
    images = [slot(width, height)]
    assert budget.count(QUESTION, DOCS, images) == processor_count(processor, DOCS, images)


def test_a_processor_that_cannot_count_image_tokens_is_refused(processor):
    with pytest.raises(ConfigError, match="cannot count image tokens"):
        ImageTokens(processor.tokenizer)


def test_overflow_drops_the_retrieved_image_to_its_caption(processor, budget):
    user, figure = slot(640, 480), slot(1024, 1024, number=2)
    full = budget.count(QUESTION, DOCS, [user, figure])
    tight = PromptBudget(budget.tokenizer, budget.image_tokens, limit=full - 1)
    fitted = tight.fit(QUESTION, DOCS, [user, figure])
    assert fitted.images == [user]  # the user's image stays, the figure gives way first
    assert fitted.documents == DOCS  # ...and its caption is still passage [2]
    text = build_messages(QUESTION, fitted.documents, images=fitted.images)[1].content[-1]["text"]
    assert "[2] (guide.pdf, p. 4; image caption)" in text
    assert fitted.tokens == processor_count(processor, fitted.documents, fitted.images)
    assert fitted.tokens <= tight.limit


def test_then_passages_are_trimmed_from_the_end_keeping_their_numbers(processor, budget):
    no_images = budget.count(QUESTION, DOCS)
    tight = PromptBudget(budget.tokenizer, budget.image_tokens, limit=no_images - 40)
    fitted = tight.fit(QUESTION, DOCS, [slot(336, 336, number=2)])
    assert fitted.images == []
    assert [d.metadata["source"] for d in fitted.documents] == [d.metadata["source"] for d in DOCS]
    last = fitted.documents[-1]
    assert last.metadata["truncated"] is True
    assert last.page_content.endswith(" …")
    assert DOCS[-1].page_content.startswith(last.page_content.removesuffix(" …"))
    assert fitted.documents[:2] == DOCS[:2]
    assert fitted.tokens == processor_count(processor, fitted.documents, [])
    assert fitted.tokens <= tight.limit


def test_a_passage_that_would_be_a_stub_is_dropped(budget):
    without_last = budget.count(QUESTION, DOCS[:2])
    limit = without_last + MIN_PASSAGE_TOKENS // 2  # room for only a stub of passage [3]
    fitted = PromptBudget(budget.tokenizer, budget.image_tokens, limit=limit).fit(QUESTION, DOCS)
    assert fitted.documents == DOCS[:2]


def test_the_users_image_is_never_dropped(budget):
    question_only = budget.count(QUESTION, [], [slot(1024, 1024)])
    tight = PromptBudget(budget.tokenizer, budget.image_tokens, limit=question_only - 1)
    with pytest.raises(PromptTooLongError, match=r"question and your image alone need [\d,]+"):
        tight.fit(QUESTION, DOCS, [slot(1024, 1024), slot(640, 480, number=2)])


# --- a conversation is trimmed in linear time, to exactly what the old trimming kept ----------

EXCHANGE = [
    ("연차 휴가는 입사 첫해에 며칠인가요?", "최대 11일입니다 [1]. 남은 휴가는 이월되지 않습니다."),
    ("How long must passwords be?", "At least 14 characters [2], changed every 180 days."),
    ("그럼 병가는요?", "병가는 연 10일까지 유급입니다 [1]."),
]


def conversation(messages: int, *, lead_with_answer: bool = False) -> list:
    """``messages`` earlier turns, alternating, of varied lengths (oldest first)."""
    turns: list = [AIMessage(content="이전 대화의 답입니다.")] if lead_with_answer else []
    for i in range(messages - len(turns)):
        asked, answered = EXCHANGE[(i // 2) % len(EXCHANGE)]
        text = asked if i % 2 == 0 else answered * (1 + i % 4)
        turns.append(HumanMessage(content=text) if i % 2 == 0 else AIMessage(content=text))
    return history_messages(turns)


def fitted_parts(fitted) -> tuple:
    return (
        [(d.page_content, d.metadata) for d in fitted.documents],
        [(i.width, i.height, i.number) for i in fitted.images],
        [(m.type, m.content) for m in fitted.history],
        fitted.tokens,
        fitted.text,
    )


@pytest.mark.parametrize("messages", [1, 7, 40])
@pytest.mark.parametrize("room", [2.0, 0.7, 0.3, 0.05, -0.1, -10.0])
@pytest.mark.parametrize("images", ["none", "retrieved", "user and retrieved"])
@pytest.mark.parametrize("lead_with_answer", [False, True])
def test_trimming_keeps_exactly_what_the_old_trimming_kept(
    budget, messages: int, room: float, images: str, lead_with_answer: bool
):
    """Over varied conversations and limits, from all fits to too long for the question alone.

    ``room`` is the share of the conversation's tokens the limit leaves beside the prompt
    without it: over 1 everything fits, under 0 passages are cut too.
    """
    slots = {
        "none": [],
        "retrieved": [slot(1024, 1024, number=2)],
        "user and retrieved": [slot(336, 336), slot(640, 480, number=2)],
    }[images]
    history = conversation(messages, lead_with_answer=lead_with_answer)
    alone = budget.count(QUESTION, DOCS, slots)
    said = budget.count(QUESTION, DOCS, slots, history) - alone
    limit = max(alone + int(room * said), 300)
    tight = PromptBudget(budget.tokenizer, budget.image_tokens, limit)
    try:
        old = fitted_parts(quadratic_fit(tight, QUESTION, DOCS, slots, history))
    except PromptTooLongError:
        with pytest.raises(PromptTooLongError):
            tight.fit(QUESTION, DOCS, slots, history)
        return
    assert fitted_parts(tight.fit(QUESTION, DOCS, slots, history)) == old


def test_a_conversation_costs_the_tokenizer_linear_work_not_quadratic(budget):
    def work(messages: int) -> tuple[int, int, int]:
        counting = CountingTokenizer(budget.tokenizer)
        history = conversation(messages)
        limit = budget.count(QUESTION, DOCS) + 400  # room for a few exchanges only
        PromptBudget(counting, budget.image_tokens, limit).fit(QUESTION, DOCS, history=history)
        return counting.calls, counting.chars, sum(len(m.content) for m in history)

    (calls, chars, said), (calls_4x, chars_4x, said_4x) = work(40), work(160)
    assert said_4x > 3.5 * said
    # Each message is tokenized at most once: the calls and the text tokenized grow at most
    # as the conversation does (the old trimming re-read the whole prompt per exchange).
    assert calls_4x <= calls + (160 - 40) and calls_4x <= 160 + 4
    assert chars_4x <= 4 * chars


def test_a_cancelled_trimming_stops_before_it_prices_the_conversation(budget):
    counting = CountingTokenizer(budget.tokenizer)
    tight = PromptBudget(counting, budget.image_tokens, budget.count(QUESTION, DOCS) + 200)
    tight.prices_add_up  # noqa: B018  (checked once per budget, not part of this request)
    cancel = threading.Event()
    cancel.set()
    before = counting.calls
    with cancellable(cancel), pytest.raises(Cancelled):
        tight.fit(QUESTION, DOCS, history=conversation(600))
    assert counting.calls - before <= 1  # the prompt without its conversation, at most

"""The chain in a conversation: earlier turns in the prompt and budget, honest empty answers."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.documents import Document
from langchain_core.messages import AIMessage, HumanMessage

from rag.access import Access
from rag.generation.budget import PromptBudget
from rag.generation.chain import PromptBuilder, build_rag_chain
from rag.generation.no_answer import NO_ANSWER
from rag.generation.prompt import build_messages, history_messages
from rag.retrieval.retriever import StoreRetriever
from rag.store import DocumentRecord, DocumentUpdate, NewChunk, Store

HR_ONLY = "인사 평가 결과는 매년 3월에 통보된다."
PUBLIC_TEXT = "국회의원의 임기는 4년으로 한다. 대통령의 임기는 5년으로 하며, 중임할 수 없다."
HISTORY = [
    HumanMessage(content="국회의원의 임기는 몇 년인가요?"),
    AIMessage(content="국회의원의 임기는 4년입니다 [1]. 헌법에 있습니다 [1, 2]."),
]


class ModelRuns(BaseCallbackHandler):
    """Counts chat model runs (LangChain calls ``on_chat_model_start`` once per call)."""

    def __init__(self) -> None:
        self.runs = 0

    def on_chat_model_start(self, serialized, messages, **kwargs) -> None:
        self.runs += 1


def put(store: Store, embeddings, doc_id: str, text: str, groups: tuple[str, ...] = ()) -> None:
    record = DocumentRecord(
        id=doc_id,
        collection="c",
        source_path=f"/docs/{doc_id}",
        content_sha256=hashlib.sha256(text.encode()).hexdigest(),
        size=len(text),
        mtime=0.0,
        groups=groups,
    )
    chunk = NewChunk(f"{doc_id}-0", 0, text, 8, embeddings.encode_documents([text])[0])
    store.commit("c", [DocumentUpdate(record, [chunk])])


@pytest.fixture(scope="module")
def stores(embeddings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Store]]:
    """``law``: a public passage; ``secret``: only an hr-only one (the public finds nothing)."""
    root = tmp_path_factory.mktemp("conversation")
    with Store(root / "law") as law, Store(root / "secret") as secret:
        for store in (law, secret):
            store.ensure_collection("c", embeddings.name, embeddings.dimension)
        put(law, embeddings, "constitution.txt", PUBLIC_TEXT)
        put(secret, embeddings, "review.txt", HR_ONLY, groups=("hr",))
        yield {"law": law, "secret": secret}


def chain(store: Store, embeddings, llm, processor, limit: int = 8192, access=None):
    retriever = StoreRetriever(
        store=store, embeddings=embeddings, collection="c", k=3, access=access or Access()
    )
    return build_rag_chain(
        retriever, llm, PromptBuilder(PromptBudget.from_processor(processor, limit))
    )


@pytest.mark.parametrize(
    ("question", "language"),
    [("인사 평가 결과는 언제 나오나요?", "ko"), ("When are review results announced?", "en")],
)
def test_nothing_retrieved_is_the_fixed_answer_and_the_generator_is_never_called(
    stores, embeddings, chat_model, processor, question: str, language: str
):
    runs = ModelRuns()
    result = chain(stores["secret"], embeddings, chat_model, processor).invoke(
        {"question": question}, config={"callbacks": [runs]}
    )
    assert result["documents"] == []
    assert result["answer"] == NO_ANSWER[language]
    assert runs.runs == 0
    # the same question from someone who may read the passage is answered by the model
    hr = chain(
        stores["secret"], embeddings, chat_model, processor, access=Access.for_groups(["hr"])
    )
    answered = hr.invoke({"question": question}, config={"callbacks": [runs]})
    assert [d.page_content for d in answered["documents"]] == [HR_ONLY]
    assert runs.runs == 1


def test_the_fixed_answer_streams_after_the_empty_sources(
    stores, embeddings, chat_model, processor
):
    parts = list(
        chain(stores["secret"], embeddings, chat_model, processor).stream(
            {"question": "인사 평가 결과는 언제 나오나요?"}
        )
    )
    assert parts[0]["documents"] == [] and "answer" not in parts[0]
    assert "".join(p["answer"] for p in parts if "answer" in p) == NO_ANSWER["ko"]


def test_a_follow_up_prompt_carries_the_earlier_turns_without_their_citations(
    stores, embeddings, chat_model, processor
):
    result = chain(stores["law"], embeddings, chat_model, processor).invoke(
        {"question": "그럼 대통령은?", "history": HISTORY}
    )
    assert result["query"] == "국회의원의 임기는 몇 년인가요?\n그럼 대통령은?"
    kinds = [message.type for message in result["messages"]]
    assert kinds == ["system", "human", "ai", "human"]
    assert result["messages"][2].content == "국회의원의 임기는 4년입니다. 헌법에 있습니다."
    prompt = result["prompt"]
    assert prompt.count("<|start_header_id|>user<|end_header_id|>") == 2
    assert prompt.count("<|start_header_id|>assistant<|end_header_id|>") == 2  # + generation
    assert prompt.index("국회의원의 임기는 몇 년인가요?") < prompt.index("<passage id=1>")


def test_history_keeps_text_only_and_drops_other_message_kinds():
    from langchain_core.messages import SystemMessage

    photo = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    kept = history_messages(
        [
            SystemMessage(content="You are a pirate."),
            HumanMessage(content=[{"type": "text", "text": "이 사진은?"}, photo]),
            AIMessage(content="고양이입니다 [2]"),
            HumanMessage(content="   "),
        ]
    )
    assert [(m.type, m.content) for m in kept] == [("human", "이 사진은?"), ("ai", "고양이입니다")]


def test_the_budget_drops_the_oldest_exchange_before_any_passage(processor):
    documents = [
        Document(page_content="대통령의 임기는 5년으로 한다. " * 8, metadata={"source": "/a"}),
        Document(page_content="국회의원의 임기는 4년으로 한다. " * 8, metadata={"source": "/b"}),
    ]
    history = history_messages(
        [
            HumanMessage(content="첫 질문입니다. " * 20),
            AIMessage(content="첫 답입니다. " * 20),
            HumanMessage(content="두 번째 질문"),
            AIMessage(content="두 번째 답"),
        ]
    )
    wide = PromptBudget.from_processor(processor, 100_000)
    full = wide.count("그럼 대통령은?", documents, (), history)
    recent_only = wide.count("그럼 대통령은?", documents, (), history[2:])
    assert full > recent_only > wide.count("그럼 대통령은?", documents)
    fitted = PromptBudget.from_processor(processor, recent_only).fit(
        "그럼 대통령은?", documents, (), history
    )
    assert fitted.history == history[2:]  # the oldest exchange went whole
    assert fitted.documents == documents  # and no passage was touched
    assert fitted.tokens == recent_only
    messages = build_messages("그럼 대통령은?", fitted.documents, history=fitted.history)
    assert [m.type for m in messages] == ["system", "human", "ai", "human"]

"""The chain end to end: real store and embedder, the user's image and a retrieved image."""

from __future__ import annotations

import base64
import hashlib
import io
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, HumanMessage
from PIL import Image

from rag.errors import BllossomRagError, TurnTooLargeError
from rag.generation.budget import PromptBudget
from rag.generation.chain import PromptBuilder, build_rag_chain
from rag.generation.chat_format import user_image_block
from rag.generation.image_tokens import ImageTokens
from rag.generation.llm import ChatBllossom, ScriptedChatModel, encode_prompt
from rag.generation.result import AnswerStream, ImageUse, shown_source
from rag.generation.turn_limits import TurnLimits
from rag.retrieval.retriever import StoreRetriever
from rag.runtime.cancel import Cancelled, cancellable
from rag.store import DocumentRecord, DocumentUpdate, NewChunk, Store
from tests.support.tokenizers import CountingTokenizer

IMAGE_TOKEN_ID = 128256
QUESTION = "연차 신청 화면에서 무엇을 골라야 하나요?"
TEXT = "연차 휴가는 입사 첫해에 최대 11일까지 쓸 수 있으며 팀장의 승인을 받아야 한다."
CAPTION = "연차 신청 화면 그림: 시작일과 종료일을 고르고 승인자를 지정하는 양식."


def add(store: Store, embeddings, doc_id: str, text: str, image_sha: str | None = None) -> None:
    record = DocumentRecord(
        id=doc_id,
        collection="hr",
        source_path=f"/docs/{doc_id}",
        content_sha256=hashlib.sha256(text.encode()).hexdigest(),
        size=len(text),
        mtime=0.0,
    )
    chunk = NewChunk(
        id=f"{doc_id}-0",
        ordinal=0,
        text=text,
        tokens=len(text),
        vector=embeddings.embed_documents([text])[0],
        page=3 if image_sha else None,
        kind="image" if image_sha else "text",
        image_sha256=image_sha,
    )
    store.commit("hr", [DocumentUpdate(document=record, chunks=[chunk])])


def fill(store: Store, embeddings) -> Store:
    """One text passage and one figure (a stored 900x600 image whose caption is its text)."""
    store.ensure_collection("hr", embeddings.name, len(embeddings.embed_query("x")))
    figure = store.images.put(Image.new("RGB", (900, 600), "white"))
    add(store, embeddings, "leave.md", TEXT)
    add(store, embeddings, "guide.pdf", CAPTION, image_sha=figure)
    return store


@pytest.fixture(scope="module")
def hr_store(embeddings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """Shared by the module's tests, which only read it."""
    with Store(tmp_path_factory.mktemp("hr") / "data") as store:
        yield fill(store, embeddings)


@pytest.fixture
def photo(tmp_path: Path) -> tuple[Path, dict]:
    path = tmp_path / "screen.jpg"
    Image.new("RGB", (640, 480), "navy").save(path, format="JPEG")
    return path, user_image_block(path.read_bytes(), source=str(path))


def chain_for(store, embeddings, llm, processor, **builder):
    retriever = StoreRetriever(
        store=store, embeddings=embeddings, collection="hr", k=2, mode="dense"
    )
    budget = PromptBudget.from_processor(processor, builder.pop("limit", 8192))
    return build_rag_chain(retriever, llm, PromptBuilder(budget, **builder))


def test_user_image_and_top_retrieved_image_go_into_the_prompt(
    hr_store, embeddings, chat_model: ChatBllossom, processor, photo
):
    path, block = photo
    chain = chain_for(hr_store, embeddings, chat_model, processor)
    result = chain.invoke({"question": QUESTION, "images": [block]})
    assert set(result) == {
        "question",
        "query",
        "documents",
        "messages",
        "images",
        "prompt",
        "prompt_tokens",
        "answer",
    }
    assert result["answer"] and result["query"] == QUESTION  # a first question is searched as is
    documents = result["documents"]
    figure_number = next(
        n for n, d in enumerate(documents, start=1) if d.metadata["kind"] == "image"
    )
    user, retrieved = result["images"]
    assert user == ImageUse(
        number=None,
        kind="user",
        source=str(path),
        image_sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        image_path=str(path),
    )
    figure = documents[figure_number - 1].metadata
    assert retrieved.number == figure_number and retrieved.kind == "retrieved"
    assert retrieved.source == shown_source(figure)  # the shown path, never the server's
    for key in ("image_sha256", "image_path", "thumbnail_path"):
        assert getattr(retrieved, key) == figure[key]
    assert Path(retrieved.thumbnail_path).is_file()

    prompt = encode_prompt(processor, result["messages"])
    assert prompt.text.count("<image>") == 2
    # The chain's own rendering and count (what ask --json prints) are the processor's.
    assert result["prompt"] == prompt.text
    assert result["prompt_tokens"] == prompt.token_count
    text = result["messages"][1].content[-1]["text"]
    assert text.startswith(
        "Images above, in order: image 1 is the user's own image; "
        f"image 2 shows passage [{figure_number}]."
    )
    assert f"[{figure_number}] (guide.pdf, p. 3; image 2 above)" in text
    # The figure that reached the model is the stored file, pixel for pixel.
    sent = result["messages"][1].content[1]["image_url"]["url"].split(",", 1)[1]
    assert base64.b64decode(sent) == Path(figure["image_path"]).read_bytes()
    assert prompt.inputs["input_ids"][0].tolist().count(IMAGE_TOKEN_ID) == sum(
        budget_tokens(processor, w, h) for w, h in [(640, 480), (900, 600)]
    )


def budget_tokens(processor, width: int, height: int) -> int:
    return PromptBudget.from_processor(processor, 1).image_tokens(width, height)


def test_stream_yields_sources_and_images_before_the_answer(
    hr_store, embeddings, chat_model, processor, photo
):
    chain = chain_for(hr_store, embeddings, chat_model, processor)
    parts = list(chain.stream({"question": QUESTION, "images": [photo[1]]}))
    first = parts[0]
    assert {"documents", "images", "messages"} <= set(first) and "answer" not in first
    answers = [p["answer"] for p in parts[1:] if "answer" in p]
    assert len(answers) > 1  # token by token


@pytest.mark.parametrize(
    ("settings", "kinds"),
    [
        ({"max_images": 1}, ["user"]),
        ({"max_retrieved_images": 0}, ["user"]),
        ({"max_images": 3, "max_retrieved_images": 2}, ["user", "retrieved"]),  # one exists
    ],
)
def test_image_limits(hr_store, embeddings, chat_model, processor, photo, settings, kinds):
    chain = chain_for(hr_store, embeddings, chat_model, processor, **settings)
    prepared = chain.invoke({"question": QUESTION, "images": [photo[1]]})
    assert [image.kind for image in prepared["images"]] == kinds


def test_without_a_user_image_the_top_retrieved_image_is_shown(
    hr_store, embeddings, chat_model, processor
):
    chain = chain_for(hr_store, embeddings, chat_model, processor)
    prepared = chain.invoke({"question": QUESTION})
    assert [image.kind for image in prepared["images"]] == ["retrieved"]


def test_budget_overflow_shows_the_figure_by_its_caption(
    hr_store, embeddings, chat_model, processor, photo
):
    roomy = chain_for(hr_store, embeddings, chat_model, processor)
    both = roomy.invoke({"question": QUESTION, "images": [photo[1]]})
    needed = encode_prompt(processor, both["messages"]).token_count
    tight = chain_for(hr_store, embeddings, chat_model, processor, limit=needed - 1)
    prepared = tight.invoke({"question": QUESTION, "images": [photo[1]]})
    assert [image.kind for image in prepared["images"]] == ["user"]
    assert len(prepared["documents"]) == 2
    assert CAPTION in prepared["messages"][1].content[-1]["text"]
    assert encode_prompt(processor, prepared["messages"]).token_count <= needed - 1


def test_too_many_or_broken_user_images_are_user_errors(
    hr_store, embeddings, chat_model, processor, photo
):
    chain = chain_for(hr_store, embeddings, chat_model, processor)
    with pytest.raises(BllossomRagError, match="3 images given, but a prompt holds at most 2"):
        chain.invoke({"question": QUESTION, "images": [photo[1]] * 3})
    broken = {"type": "image", "base64": base64.b64encode(b"not an image").decode()}
    with pytest.raises(BllossomRagError, match="not a readable image"):
        chain.invoke({"question": QUESTION, "images": [broken]})


def test_a_missing_stored_image_leaves_its_caption(store, embeddings, chat_model, processor):
    fill(store, embeddings)
    for path in store.images.root.rglob("*.png"):
        path.unlink()
    chain = chain_for(store, embeddings, chat_model, processor)
    prepared = chain.invoke({"question": QUESTION})
    assert prepared["images"] == []
    assert "image caption" in prepared["messages"][1].content


def test_user_image_block_keeps_bytes_and_detects_the_format(photo):
    path, block = photo
    assert block["mime_type"] == "image/jpeg"
    assert base64.b64decode(block["base64"]) == path.read_bytes()
    with pytest.raises(BllossomRagError, match="not a readable image"):
        user_image_block(io.BytesIO(b"GIF89a broken").getvalue())


def test_max_image_pixels_applies_to_the_users_and_the_stored_images(
    hr_store, embeddings, chat_model, processor, photo
):
    """640x480 (307,200 pixels) and the stored 900x600 figure are both over 300,000."""
    chain = chain_for(hr_store, embeddings, chat_model, processor, max_image_pixels=300_000)
    with pytest.raises(BllossomRagError, match="640x480 pixels, over the 300,000-pixel limit"):
        chain.invoke({"question": QUESTION, "images": [photo[1]]})
    prepared = chain.invoke({"question": QUESTION})
    assert prepared["images"] == []  # the figure is shown by its caption instead
    assert CAPTION in prepared["messages"][1].content


def test_a_user_image_in_another_format_names_it_and_the_accepted_ones(tmp_path):
    icon = tmp_path / "logo.ico"
    Image.new("RGB", (32, 32), "red").save(icon, format="ICO")
    with pytest.raises(BllossomRagError) as refused:
        user_image_block(icon.read_bytes(), source=str(icon))
    assert str(refused.value) == (
        "not an accepted image format: this is ICO; "
        "accepted formats are PNG, JPEG, WEBP, GIF, BMP, TIFF"
    )


def test_the_same_image_is_not_put_into_the_prompt_twice(
    hr_store, embeddings, chat_model, processor
):
    """The user attaches the very figure the store holds: one image slot, not two."""
    chain = chain_for(hr_store, embeddings, chat_model, processor, max_retrieved_images=2)
    figure_path = next(hr_store.images.root.rglob("*.png"))
    figure = user_image_block(figure_path.read_bytes(), source=str(figure_path))
    prepared = chain.invoke({"question": QUESTION, "images": [figure, figure]})
    assert [image.kind for image in prepared["images"]] == ["user"]
    assert prepared["prompt"].count("<image>") == 1
    assert encode_prompt(processor, prepared["messages"]).token_count == prepared["prompt_tokens"]
    assert "image caption" in prepared["messages"][1].content[-1]["text"]  # still passage text


def test_a_scripted_model_answers_with_exact_text_and_citations(hr_store, embeddings, processor):
    """The real chain, prompt and budget, with an answer known in advance: [1], the best one."""
    chain = chain_for(hr_store, embeddings, ScriptedChatModel(), processor)
    stream = AnswerStream(chain, {"question": "연차 휴가는 첫해에 며칠까지 쓸 수 있나요?"})
    pieces = list(stream)
    result = stream.result
    assert [source.source for source in result.sources][:1] == ["leave.md"]  # no server path
    assert result.answer == "".join(pieces) == f"{TEXT} [1]"
    assert len(pieces) > 1  # streamed word by word, like a model
    wrong = chain_for(hr_store, embeddings, ScriptedChatModel(script="{1} [2]"), processor)
    assert AnswerStream(wrong, {"question": QUESTION}).run().answer.endswith(" [2]")


class _CancelOnceRetrieved(BaseCallbackHandler):
    """Gives up on the turn the moment its passages are in: its client left."""

    def __init__(self, cancel: threading.Event) -> None:
        self.cancel = cancel

    def on_retriever_end(self, documents: Any, **kwargs: Any) -> None:
        self.cancel.set()


def test_a_turn_given_up_stops_before_its_next_stage(hr_store, embeddings, processor):
    """Cancelled during retrieval: the prompt is never measured and the model never called."""
    counting = CountingTokenizer(processor.tokenizer)
    model = ScriptedChatModel(script="{1} [1]")
    retriever = StoreRetriever(store=hr_store, embeddings=embeddings, collection="hr", k=2)
    budget = PromptBudget(counting, ImageTokens(processor), 8192)
    chain = build_rag_chain(retriever, model, PromptBuilder(budget))
    cancel = threading.Event()
    stream = AnswerStream(
        chain, {"question": QUESTION}, config={"callbacks": [_CancelOnceRetrieved(cancel)]}
    )
    with cancellable(cancel), pytest.raises(Cancelled):
        stream.run()
    assert counting.calls == 0 and stream.result.answer == "" and not stream.result.documents
    # The same turn not given up goes through every stage.
    assert AnswerStream(chain, {"question": QUESTION}).run().answer.endswith("[1]")
    assert counting.calls > 0


def test_a_turn_over_a_limit_is_refused_before_it_is_searched(hr_store, embeddings, processor):
    retriever = StoreRetriever(store=hr_store, embeddings=embeddings, collection="hr", k=2)
    limits = TurnLimits(max_question_chars=10, max_turn_chars=20, max_turns=3)
    chain = build_rag_chain(retriever, ScriptedChatModel(script="{1}"), limits=limits)
    history = [HumanMessage(content="연차는?"), AIMessage(content="11일입니다.")]
    cases = [
        (QUESTION, [], "the question is 23 characters; at most 10 are accepted"),
        ("병가는?", [HumanMessage(content="가" * 21)], "an earlier turn is 21 characters"),
        ("병가는?", [*history, *history], "the conversation has 5 messages; at most 3"),
    ]
    for question, earlier, message in cases:
        with pytest.raises(TurnTooLargeError, match=message):
            chain.invoke({"question": question, "history": earlier})
    assert chain.invoke({"question": "병가는?", "history": history})["documents"]

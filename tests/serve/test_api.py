"""The RAG API, for real: uvicorn on a free port, the real store and models, official clients."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langchain_openai import ChatOpenAI

from devkit.models import EMBEDDING_MODEL, EXAMPLES, GENERATOR_MODEL
from ingest.pipeline import Ingestor
from rag.access import Access
from rag.access.keys import ApiKey, key_digest, new_key
from rag.assistant import Assistant
from rag.config import Settings
from rag.generation.no_answer import NO_ANSWER
from rag.retrieval.followup import FollowUps, RetrievalQuery
from rag.store import Store
from rag.store.copy import copy_store
from serve.api import ApiOptions, create_app
from serve.http.server import BackgroundServer
from tests.support.tokenizers import CountingTokenizer
from tests.support.waiting import wait_until

CANARY = "코끼리 보라색 암호는 7391입니다"
HR_KEY, PUBLIC_KEY = "key-hr-7f3a91bc2e", "key-public-91bc2e4d"
KEYS = {HR_KEY: ("hr",), PUBLIC_KEY: ()}
QUESTION = "입사 첫해에는 연차 휴가를 최대 며칠까지 쓸 수 있나요?"
SOURCE_FIELDS = {
    "id", "source", "page", "text", "score", "relevance", "document_id", "collection",
    "kind", "heading", "also_in", "url", "document_url",
}  # fmt: skip


@pytest.fixture(scope="module")
def data(embeddings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``handbook``: the examples; ``mixed``: a public notice and the hr-only canary;
    ``hr``: the canary alone (hr only)."""
    root = tmp_path_factory.mktemp("api")
    docs = root / "docs"
    docs.mkdir()
    (docs / "공지.md").write_text("# 사내 공지\n\n식당은 12시에 엽니다.", encoding="utf-8")
    (docs / "인사_비밀.md").write_text(f"# 인사 기밀\n\n{CANARY}.", encoding="utf-8")
    settings = Settings(data_dir=root / "data", embedding={"model": EMBEDDING_MODEL})
    with Store(settings.data_dir) as store:
        ingestor = Ingestor.from_settings(settings, store, embeddings)
        ingestor.ingest([EXAMPLES], collection="handbook")
        ingestor.ingest([docs / "공지.md"], collection="mixed")
        ingestor.ingest([docs / "인사_비밀.md"], collection="mixed", groups=["hr"])
        ingestor.ingest([docs / "인사_비밀.md"], collection="hr", groups=["hr"])
    return settings.data_dir


@pytest.fixture(scope="module")
def assistant(data: Path) -> Iterator[Assistant]:
    shared = Assistant(
        Settings(
            data_dir=data,
            device="cpu",
            embedding={"model": EMBEDDING_MODEL},
            generation={"model": GENERATOR_MODEL, "max_new_tokens": 8, "temperature": 0.0},
        )
    )
    yield shared
    shared.close()


def serve(assistant: Assistant, **limits: Any) -> BackgroundServer:
    server = BackgroundServer(create_app(assistant, ApiOptions(keys=KEYS, **limits))).start()
    wait_until(lambda: httpx.get(f"{server.url}/health").status_code == 200, "warm models")
    return server


@pytest.fixture(scope="module")
def api(assistant: Assistant) -> Iterator[str]:
    server = serve(assistant, max_body_bytes=200_000)
    yield server.url
    server.stop()


def hr_floor(assistant: Assistant) -> float:
    """The relevance floor of an hr key's searches (adaptive: this collection's, this reader's)."""
    return assistant.retriever("handbook", access=Access.for_groups(KEYS[HR_KEY])).floor()


def client(url: str, key: str = HR_KEY) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=120)


def ask(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def test_health_is_open_and_everything_else_needs_a_valid_key(api: str):
    health = httpx.get(f"{api}/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    for method, path in [
        ("GET", "/v1/models"),
        ("POST", "/v1/chat/completions"),
        ("POST", "/v1/retrieve"),
    ]:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": HR_KEY}):
            refused = httpx.request(method, f"{api}{path}", headers=headers, json={})
            assert refused.status_code == 401, (path, headers)
    with pytest.raises(openai.AuthenticationError):
        client(api, "not-a-key").models.list()


def test_models_are_the_collections_the_key_may_read(api: str):
    public = {model.id for model in client(api, PUBLIC_KEY).models.list()}
    hr = {model.id for model in client(api, HR_KEY).models.list()}
    assert {"handbook", "mixed"} <= public and "hr" not in public
    assert {"handbook", "mixed", "hr"} <= hr


def test_a_whole_answer_carries_its_numbered_sources(api: str):
    reply = client(api).chat.completions.create(model="handbook", messages=ask(QUESTION))
    assert reply.choices[0].message.content
    assert reply.model == "handbook"
    sources = reply.model_extra["sources"]
    assert sources and all(set(source) == SOURCE_FIELDS for source in sources)
    assert sources[0]["source"] == "examples/handbook/휴가_정책.md"  # never the server's path
    assert "최대 11일" in sources[0]["text"]
    assert reply.usage.prompt_tokens > 100 and reply.usage.completion_tokens > 0


def test_a_stream_carries_the_sources_in_its_first_chunk(api: str):
    chunks = list(
        client(api).chat.completions.create(
            model="handbook", messages=ask(QUESTION), stream=True, temperature=0
        )
    )
    first = chunks[0]
    assert first.choices[0].delta.role == "assistant"
    assert Path(first.model_extra["sources"][0]["source"]).name == "휴가_정책.md"
    assert all("sources" not in (chunk.model_extra or {}) for chunk in chunks[1:])
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text
    assert chunks[-1].choices[0].finish_reason in ("stop", "length")


def test_langchain_chat_openai_talks_to_it_streaming_and_not(api: str):
    llm = ChatOpenAI(
        model="handbook", base_url=f"{api}/v1", api_key=HR_KEY, max_retries=0, temperature=0
    )
    whole = llm.invoke([HumanMessage(content=QUESTION)])
    assert isinstance(whole, AIMessage) and whole.content
    streamed = "".join(str(chunk.content) for chunk in llm.stream(QUESTION))
    assert streamed


def test_the_canary_never_reaches_a_key_without_hr(api: str):
    question = "코끼리 보라색 암호는 무엇인가요?"
    for key in (PUBLIC_KEY, HR_KEY):
        reply = client(api, key).chat.completions.create(model="mixed", messages=ask(question))
        texts = " ".join(source["text"] for source in reply.model_extra["sources"])
        retrieved = httpx.post(
            f"{api}/v1/retrieve",
            headers={"Authorization": f"Bearer {key}"},
            json={"collection": "mixed", "query": question},
        ).json()
        found = " ".join(source["text"] for source in retrieved["sources"])
        if key == PUBLIC_KEY:
            assert CANARY not in texts and CANARY not in found
            assert CANARY not in (reply.choices[0].message.content or "")
        else:
            assert CANARY in texts and CANARY in found
    with pytest.raises(openai.NotFoundError) as hidden:
        client(api, PUBLIC_KEY).chat.completions.create(model="hr", messages=ask(question))
    with pytest.raises(openai.NotFoundError) as missing:
        client(api, PUBLIC_KEY).chat.completions.create(model="nope", messages=ask(question))
    # a collection the key cannot read looks exactly like one that does not exist
    assert hidden.value.body["message"].replace("'hr'", "'nope'") == missing.value.body["message"]
    assert hidden.value.body["code"] == "model_not_found" and hidden.value.body["param"] == "model"


OFF_TOPIC = [("내일 점심 뭐 먹을까?", "ko"), ("What is the weather in Paris tomorrow?", "en")]


def test_nothing_found_is_the_fixed_answer_with_no_sources(api: str):
    for stream in (False, True):
        # Off-topic for the handbook: the relevance floor (min_relevance) leaves no passage.
        for question, language in OFF_TOPIC:
            reply = client(api).chat.completions.create(
                model="handbook", messages=ask(question), stream=stream
            )
            if stream:
                chunks = list(reply)
                text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
                sources = chunks[0].model_extra["sources"]
            else:
                text, sources = reply.choices[0].message.content, reply.model_extra["sources"]
            assert text == NO_ANSWER[language] and sources == []
            if not stream:
                assert reply.usage.completion_tokens == 0  # the generator was not called


def test_retrieve_searches_a_follow_up_with_its_conversation(api: str, assistant: Assistant):
    headers = {"Authorization": f"Bearer {HR_KEY}"}
    conversation = [
        {"role": "user", "content": "연차 휴가는 입사 첫해에 며칠까지 쓸 수 있나요?"},
        {"role": "assistant", "content": "최대 11일입니다 [1]."},
        {"role": "user", "content": "그럼 병가는요?"},
    ]
    found = httpx.post(
        f"{api}/v1/retrieve",
        headers=headers,
        json={"collection": "handbook", "messages": conversation, "k": 2},
    ).json()
    assert found["query"] == "연차 휴가는 입사 첫해에 며칠까지 쓸 수 있나요?\n그럼 병가는요?"
    assert len(found["sources"]) == 2 and all(set(s) == SOURCE_FIELDS for s in found["sources"])
    alone = httpx.post(
        f"{api}/v1/retrieve", headers=headers, json={"collection": "handbook", "query": "병가"}
    ).json()
    # top_k at most by default; fewer when the rest fall below the relevance floor
    assert alone["query"] == "병가" and 1 <= len(alone["sources"]) <= 5
    assert all(s["score"] >= hr_floor(assistant) for s in alone["sources"])  # score: relevance
    # the chat route reads the same conversation the same way
    reply = client(api).chat.completions.create(model="handbook", messages=conversation)
    assert reply.model_extra["sources"][0]["id"] == found["sources"][0]["id"]


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"model": "handbook", "messages": []}, 400, "messages: List should have at least 1"),
        (
            {"model": "handbook", "messages": [{"role": "assistant", "content": "hi"}]},
            400,
            "messages[0].role: the last message must be the user's question",
        ),
        (
            {"model": "handbook", "messages": [{"role": "user", "content": " "}]},
            400,
            "messages[0].content: the question has no text",
        ),
        (
            {"model": "handbook", "messages": ask("hi"), "max_tokens": 5000},
            400,
            "max_tokens: 5,000 new tokens asked for; this RAG API generates at most 4,096",
        ),
        (
            {"model": "handbook", "messages": ask("x" * 300_000)},
            413,
            "over this RAG API's 200,000-byte limit",
        ),
    ],
    ids=["no messages", "not a question", "blank question", "too many tokens", "too large"],
)
def test_malformed_requests_are_4xx_naming_the_field(api: str, body, status: int, message: str):
    refused = httpx.post(
        f"{api}/v1/chat/completions", headers={"Authorization": f"Bearer {HR_KEY}"}, json=body
    )
    assert refused.status_code == status
    assert message in refused.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"collection": "handbook"}, 'body: give either "query"'),
        ({"collection": "handbook", "query": "a", "messages": ask("b")}, "body: give either"),
        ({"collection": "handbook", "query": "a", "k": 0}, "k: Input should be greater than"),
    ],
)
def test_malformed_retrievals_are_400s_naming_the_field(api: str, body, message: str):
    refused = httpx.post(
        f"{api}/v1/retrieve", headers={"Authorization": f"Bearer {HR_KEY}"}, json=body
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["message"].startswith(message)


def test_a_full_queue_is_429_and_a_client_that_leaves_frees_its_slot(assistant: Assistant):
    server = serve(assistant, max_concurrency=1, max_queue=0, max_new_tokens=100_000)
    api = client(server.url)
    try:
        holder = api.chat.completions.create(
            model="handbook",
            messages=ask("연차 휴가 규정을 끝없이 자세히 써 주세요"),
            max_tokens=100_000,
            temperature=1.0,
            stream=True,
        )
        next(iter(holder))  # answering now, in the only slot
        with pytest.raises(openai.RateLimitError) as refused:
            api.chat.completions.create(model="handbook", messages=ask("병가는 며칠인가요?"))
        assert "the RAG API is busy: 1 request running and 0 waiting" in str(refused.value)
        holder.close()  # the client leaves mid-answer: its generation stops
        running = lambda: httpx.get(f"{server.url}/health").json()["running"]  # noqa: E731
        wait_until(lambda: running() == 0, "the abandoned generation to stop")
        again = ask("연차 휴가는 며칠인가요?")
        assert api.chat.completions.create(model="handbook", messages=again).choices
    finally:
        server.stop()


def test_a_request_over_its_time_is_a_504(assistant: Assistant):
    server = serve(assistant, timeout=1.0, max_new_tokens=100_000)
    try:
        with pytest.raises(openai.APIStatusError) as late:
            client(server.url).chat.completions.create(
                model="handbook",
                messages=ask("연차 휴가 규정을 길게 설명해 주세요"),
                max_tokens=100_000,
                temperature=1.0,
            )
        assert late.value.status_code == 504 and late.value.body["code"] == "timeout"
        wait_until(lambda: httpx.get(f"{server.url}/health").json()["running"] == 0, "stop")
    finally:
        server.stop()


def test_without_keys_the_api_is_open_to_unrestricted_documents_only(assistant: Assistant):
    app = create_app(assistant, ApiOptions())
    with BackgroundServer(app) as server:
        wait_until(lambda: httpx.get(f"{server.url}/health").status_code == 200, "warm")
        models = {m.id for m in client(server.url, "anything").models.list()}
        assert "handbook" in models and "hr" not in models
        retrieved = httpx.post(
            f"{server.url}/v1/retrieve", json={"collection": "mixed", "query": "코끼리 암호"}
        ).json()
        assert all(CANARY not in source["text"] for source in retrieved["sources"])


def test_requests_are_answered_concurrently_up_to_the_limit(api: str):
    replies: list[Any] = []

    def one() -> None:
        replies.append(client(api).chat.completions.create(model="handbook", messages=ask("hi")))

    threads = [threading.Thread(target=one) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(replies) == 3 and all(reply.choices[0].message.content for reply in replies)


def test_a_scripted_answer_comes_back_exactly_with_its_citation(data: Path):
    """The API's whole path with an answer known in advance: [1]'s first sentence, cited."""
    scripted = Assistant(
        Settings(
            data_dir=data,
            device="cpu",
            embedding={"model": EMBEDDING_MODEL},
            generation={"model": GENERATOR_MODEL, "scripted_answer": "{1} [1]"},
        )
    )
    server = serve(scripted)
    try:
        reply = client(server.url).chat.completions.create(model="handbook", messages=ask(QUESTION))
        [top, *_] = reply.model_extra["sources"]
        answer = reply.choices[0].message.content
        assert answer.endswith(" [1]")
        quoted, passage = answer.removesuffix(" [1]"), top["text"]
        assert quoted and quoted in passage  # a whole sentence of the top passage
        after = passage[passage.index(quoted) + len(quoted) :]
        assert after[:1] in ("", " ", "\n")
        streamed = client(server.url).chat.completions.create(
            model="handbook", messages=ask(QUESTION), stream=True
        )
        text = "".join(c.choices[0].delta.content or "" for c in streamed if c.choices)
        assert text == reply.choices[0].message.content
    finally:
        server.stop()
        scripted.close()


def copied_assistant(data: Path, tmp_path: Path, **store: str) -> Assistant:
    """An assistant on a private copy of the module's store (its keys and trail are its own)."""
    folder = tmp_path / "data"
    shutil.copytree(data, folder)
    return Assistant(
        Settings(
            data_dir=folder,
            device="cpu",
            embedding={"model": EMBEDDING_MODEL},
            generation={"model": GENERATOR_MODEL, "scripted_answer": "{1} [1]"},
            store=store,
        )
    )


@pytest.mark.parametrize("backend", ["embedded", "postgres"])
def test_a_store_key_reads_its_groups_until_revoked(
    backend: str, data: Path, tmp_path: Path, request: pytest.FixtureRequest, embeddings
):
    store = {"url": request.getfixturevalue("store_url")} if backend == "postgres" else {}
    keyed = copied_assistant(data, tmp_path, **store)
    if backend == "postgres":  # the same documents, in PostgreSQL
        with Store(data) as source:
            copy_store(source, keyed.store)
    key = new_key()
    keyed.store.add_key(ApiKey("hr-bot", key_digest(key), ("hr",), ("read",), time.time()))
    server = serve(keyed)
    try:
        assert "hr" in {m.id for m in client(server.url, key).models.list()}
        assert "hr" not in {m.id for m in client(server.url, PUBLIC_KEY).models.list()}
        keyed.store.revoke_key("hr-bot", time.time())
        with pytest.raises(openai.AuthenticationError):
            client(server.url, key).models.list()  # refused on the next request, no restart
        assert client(server.url, HR_KEY).models.list()  # the configured keys still work
    finally:
        server.stop()
        keyed.close()


def test_chat_and_retrieve_put_the_key_and_the_documents_on_the_trail(data: Path, tmp_path: Path):
    audited = copied_assistant(data, tmp_path)
    started = time.time()  # the module's other tests left entries in the copied store
    server = serve(audited)
    try:
        reply = client(server.url, HR_KEY).chat.completions.create(
            model="handbook", messages=ask(QUESTION)
        )
        retrieved = httpx.post(
            f"{server.url}/v1/retrieve",
            json={"collection": "mixed", "query": "코끼리 암호"},
            headers={"Authorization": f"Bearer {PUBLIC_KEY}"},
        ).json()
    finally:
        server.stop()

    def ids(sources: list[dict]) -> list[str]:
        return list(dict.fromkeys(s["document_id"] for s in sources))

    answer, search = audited.store.audit_entries(since=started)
    audited.close()
    assert (answer.surface, answer.action, answer.collection) == ("api", "answer", "handbook")
    assert answer.who == f"config key {key_digest(HR_KEY)[:8]}"
    assert answer.question == QUESTION and answer.detail["answered"] is True
    assert list(answer.documents) == ids(reply.model_extra["sources"])
    assert (search.surface, search.action, search.collection) == ("retrieve", "retrieve", "mixed")
    assert list(search.documents) == ids(retrieved["sources"])
    assert search.who == f"config key {key_digest(PUBLIC_KEY)[:8]}"


# --- what one request may cost, and who waits for whom ------------------------------------------

HEADERS = {"Authorization": f"Bearer {HR_KEY}"}


@pytest.mark.parametrize(
    ("path", "body", "param", "message"),
    [
        (
            "/v1/chat/completions",
            {"model": "handbook", "messages": ask("연차" * 2_001)},
            "messages[0].content",
            "the question is 4,002 characters; at most 4,000 are accepted "
            "(conversation.max_question_chars): shorten it",
        ),
        (
            "/v1/chat/completions",
            {
                "model": "handbook",
                "messages": [
                    {"role": "user", "content": "연차는?"},
                    {"role": "assistant", "content": "가" * 16_001},
                    *ask("병가는?"),
                ],
            },
            "messages[1].content",
            "an earlier turn is 16,001 characters; at most 16,000 are accepted "
            "(conversation.max_turn_chars)",
        ),
        (
            "/v1/chat/completions",
            {"model": "handbook", "messages": ask("연차는?") * 51},
            "messages",
            "the conversation has 51 messages; at most 50 are accepted "
            "(conversation.max_turns): send the latest turns only",
        ),
        (
            "/v1/retrieve",
            {"collection": "handbook", "query": "연차" * 2_001},
            "query",
            "the question is 4,002 characters; at most 4,000 are accepted "
            "(conversation.max_question_chars): shorten it",
        ),
        (
            "/v1/retrieve",
            {"collection": "handbook", "messages": ask("연차는?") * 51},
            "messages",
            "the conversation has 51 messages; at most 50 are accepted "
            "(conversation.max_turns): send the latest turns only",
        ),
    ],
    ids=["long question", "long turn", "many turns", "long query", "many turns to retrieve"],
)
def test_a_turn_over_a_limit_is_a_400_naming_the_message_and_the_setting(
    api: str, path: str, body: dict, param: str, message: str
):
    refused = httpx.post(f"{api}{path}", headers=HEADERS, json=body)
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["param"] == param and error["message"] == f"{param}: {message}"


def test_retrieve_names_the_collection_it_cannot_find(api: str):
    found = {}
    for name in ("hr", "nope"):
        refused = httpx.post(
            f"{api}/v1/retrieve",
            headers={"Authorization": f"Bearer {PUBLIC_KEY}"},
            json={"collection": name, "query": "코끼리 암호"},
        )
        assert refused.status_code == 404
        found[name] = refused.json()["error"]
    assert found["hr"]["message"] == (
        "collection: the collection 'hr' does not exist or this key cannot read it; "
        "GET /v1/models lists the collections it can"
    )
    assert found["hr"]["param"] == "collection" and found["hr"]["code"] == "collection_not_found"
    # a collection the key cannot read looks exactly like one that does not exist
    assert found["hr"]["message"].replace("'hr'", "'nope'") == found["nope"]["message"]


def hold_a_slot(url: str, key: str = HR_KEY) -> Any:
    """A streaming answer that runs until closed, holding one of the server's slots."""
    holder = client(url, key).chat.completions.create(
        model="handbook",
        messages=ask("연차 휴가 규정을 끝없이 자세히 써 주세요"),
        max_tokens=100_000,
        temperature=1.0,
        stream=True,
    )
    next(iter(holder))
    return holder


def test_retrieve_waits_for_a_slot_like_a_chat(assistant: Assistant):
    server = serve(assistant, max_concurrency=1, max_queue=0, max_new_tokens=100_000)
    try:
        holder = hold_a_slot(server.url)
        refused = httpx.post(
            f"{server.url}/v1/retrieve",
            headers=HEADERS,
            json={"collection": "handbook", "query": "병가"},
        )
        assert refused.status_code == 429
        assert refused.json()["error"]["message"].startswith(
            "the RAG API is busy: 1 request running and 0 waiting"
        )
        holder.close()
        running = lambda: httpx.get(f"{server.url}/health").json()["running"]  # noqa: E731
        wait_until(lambda: running() == 0, "the abandoned generation to stop")
        again = httpx.post(
            f"{server.url}/v1/retrieve",
            headers=HEADERS,
            json={"collection": "handbook", "query": "병가"},
        )
        assert again.status_code == 200 and again.json()["sources"]
    finally:
        server.stop()


def test_one_key_cannot_take_every_slot_from_the_others(assistant: Assistant):
    """Two slots: a key holding one waits for its second while another key is served at once."""
    server = serve(assistant, max_concurrency=2, max_queue=4, max_new_tokens=100_000)
    health = lambda: httpx.get(f"{server.url}/health").json()  # noqa: E731
    second: list[Any] = []
    try:
        holder = hold_a_slot(server.url)
        waiter = threading.Thread(
            target=lambda: second.append(
                httpx.post(
                    f"{server.url}/v1/retrieve",
                    headers=HEADERS,
                    json={"collection": "handbook", "query": "병가"},
                    timeout=120,
                )
            )
        )
        waiter.start()
        wait_until(lambda: health()["waiting"] == 1, "the key's second request to wait")
        other = httpx.post(
            f"{server.url}/v1/retrieve",
            headers={"Authorization": f"Bearer {PUBLIC_KEY}"},
            json={"collection": "handbook", "query": "연차"},
            timeout=120,
        )
        assert other.status_code == 200 and not second  # served past the waiting one
        holder.close()  # the key's first ends: its second goes on
        waiter.join(timeout=120)
        assert second[0].status_code == 200
    finally:
        server.stop()


class _HeldQuery(FollowUps):
    """The conversation's query, made once the test lets it: a search outlasting a timeout."""

    def __init__(self, released: threading.Event) -> None:
        super().__init__()
        self.released = released

    def query(self, question: str, history: Any = ()) -> RetrievalQuery:
        self.released.wait(120)
        return super().query(question, history)


def test_a_timeout_stops_the_work_not_only_the_wait(data: Path):
    """A turn still searching at its timeout is answered 504 and stops before its prompt."""
    held = Assistant(
        Settings(
            data_dir=data,
            device="cpu",
            embedding={"model": EMBEDDING_MODEL},
            generation={"model": GENERATOR_MODEL, "scripted_answer": "{1} [1]"},
        )
    )
    released = threading.Event()
    held.followups = _HeldQuery(released)
    counting = CountingTokenizer(held.prompt_builder.budget.tokenizer)
    held.prompt_builder.budget.tokenizer = counting  # counts what the prompt stage reads
    server = serve(held, timeout=0.5)
    health = lambda: httpx.get(f"{server.url}/health").json()  # noqa: E731
    try:
        with pytest.raises(openai.APIStatusError) as late:
            client(server.url).chat.completions.create(model="handbook", messages=ask(QUESTION))
        assert late.value.status_code == 504
        assert health()["running"] == 1  # the slot is held while the thread still runs
        released.set()  # the search goes on, and the turn stops at its next step
        wait_until(lambda: health()["running"] == 0, "the abandoned turn to stop")
        assert counting.calls == 0  # the prompt of a turn given up was never measured
    finally:
        released.set()
        server.stop()
    patient = serve(held)  # the same turn, with time to finish, goes through every stage
    try:
        answer = client(patient.url).chat.completions.create(
            model="handbook", messages=ask(QUESTION)
        )
        assert answer.choices[0].message.content.endswith("[1]") and counting.calls > 0
    finally:
        patient.stop()
        held.close()

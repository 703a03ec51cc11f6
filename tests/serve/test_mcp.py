"""The MCP server on the RAG API, driven by the official SDK's own client over streamable HTTP."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from devkit.models import EMBEDDING_MODEL, GENERATOR_MODEL
from ingest.pipeline import Ingestor
from rag.access.keys import ApiKey, key_digest, new_key
from rag.assistant import Assistant
from rag.config import Settings
from serve.api import ApiOptions, create_app
from serve.http.server import BackgroundServer
from tests.support.waiting import wait_until

HR, PUBLIC = new_key(), new_key()
CANARY = "코끼리 보라색 암호는 7391입니다"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, embeddings) -> Iterator[tuple[str, Assistant]]:
    root = tmp_path_factory.mktemp("mcp")
    settings = Settings(
        data_dir=root / "data",
        device="cpu",
        embedding={"model": EMBEDDING_MODEL},
        generation={"model": GENERATOR_MODEL, "scripted_answer": "{1} [1]"},
    )
    (root / "공지.md").write_text("# 공지\n\n사내 식당은 12시에 엽니다.\n", encoding="utf-8")
    (root / "인사.md").write_text(f"# 인사 기밀\n\n{CANARY}.\n", encoding="utf-8")
    assistant = Assistant(settings)
    ingestor = Ingestor.from_settings(settings, assistant.store, embeddings)
    ingestor.ingest([root / "공지.md"], collection="default")
    ingestor.ingest([root / "인사.md"], collection="default", groups=["hr"])
    now = time.time()
    assistant.store.add_key(ApiKey("hr-agent", key_digest(HR), ("hr",), ("read",), now))
    assistant.store.add_key(ApiKey("public-agent", key_digest(PUBLIC), (), ("read",), now))
    server = BackgroundServer(create_app(assistant, ApiOptions())).start()
    wait_until(lambda: httpx.get(f"{server.url}/health").status_code == 200, "warm models")
    yield server.url, assistant
    server.stop()
    assistant.close()


def call(url: str, key: str, tool: str | None = None, **arguments: Any) -> Any:
    """One session of the SDK's client: the tools listed, or one tool's result."""

    async def session() -> Any:
        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=120)
        async with Client(streamable_http_client(f"{url}/mcp", http_client=http)) as client:
            if tool is None:
                return await client.list_tools()
            return await client.call_tool(tool, arguments)

    return asyncio.run(session())


def payload(result: Any) -> dict:
    assert not result.is_error, result
    return json.loads(result.content[0].text)


def test_the_tools_are_listed_with_their_arguments(api):
    url, _ = api
    tools = {tool.name: tool for tool in call(url, PUBLIC).tools}
    assert set(tools) == {"search", "ask", "list_documents"}
    assert tools["search"].input_schema["required"] == ["query"]
    assert "ctx" not in tools["ask"].input_schema["properties"]


def test_search_ask_and_list_see_only_what_the_key_may_read(api):
    url, assistant = api
    started = time.time()
    found = payload(call(url, HR, "search", query="코끼리 암호는 무엇인가요?"))
    assert CANARY in found["sources"][0]["text"]
    hidden = payload(call(url, PUBLIC, "search", query="코끼리 암호는 무엇인가요?"))
    assert all(CANARY not in source["text"] for source in hidden["sources"])

    answered = payload(call(url, HR, "ask", question="코끼리 암호는 무엇인가요?"))
    assert answered["answer"].endswith(" [1]") and CANARY in answered["sources"][0]["text"]

    mine = {Path(d["source"]).name for d in payload(call(url, HR, "list_documents"))["documents"]}
    public = payload(call(url, PUBLIC, "list_documents"))["documents"]
    assert mine == {"공지.md", "인사.md"} and {Path(d["source"]).name for d in public} == {
        "공지.md"
    }

    trail = [e for e in assistant.store.audit_entries(since=started) if e.surface == "mcp"]
    assert [(e.who, e.action) for e in trail] == [
        ("hr-agent", "retrieve"),
        ("public-agent", "retrieve"),
        ("hr-agent", "answer"),
    ]


def test_a_collection_the_key_cannot_read_is_an_error_result(api):
    url, _ = api
    result = call(url, PUBLIC, "search", query="x", collection="secret")
    assert result.is_error
    assert result.content[0].text == (
        "Error executing tool search: no collection 'secret' that this key can read "
        "(it can read: default)"
    )


def test_the_endpoint_needs_a_key(api):
    url, _ = api
    answer = httpx.post(f"{url}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert answer.status_code == 401


def test_a_question_over_the_limit_is_refused_before_any_search(api):
    url, assistant = api
    started = time.time()
    limit = assistant.turn_limits.max_question_chars
    for tool, argument in (("search", "query"), ("ask", "question")):
        result = call(url, PUBLIC, tool, **{argument: "가" * (limit + 1)})
        assert result.is_error and "conversation.max_question_chars" in result.content[0].text
    assert [e for e in assistant.store.audit_entries(since=started) if e.surface == "mcp"] == []

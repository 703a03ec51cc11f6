"""The GPU worker, for real: uvicorn on a free local port, the tiny model, official clients."""

from __future__ import annotations

import base64
import io
import json
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import torch
from langchain_core.documents import Document
from langchain_core.messages import HumanMessage
from langchain_openai import ChatOpenAI
from PIL import Image

from devkit.image_bytes import png_claiming
from devkit.models import GENERATOR_MODEL
from rag.access.keys import ApiKey, key_digest, new_key
from rag.assistant import Assistant
from rag.config import Settings
from rag.generation.budget import PromptBudget
from rag.generation.chat_format import image_block
from rag.generation.llm import ChatBllossom
from rag.generation.prompt import PromptImage, build_messages
from rag.images import bytes_data_url, encode_data_url
from rag.store import Store
from serve.http.server import BackgroundServer
from serve.worker import WorkerOptions, create_app
from tests.support.waiting import free_port, wait_until

KEY = "test-key-7f3a91bc2e"
AUTH = {"Authorization": f"Bearer {KEY}"}
MODEL_ID = "tiny-llava-next"


def start(llm: ChatBllossom, **options: Any) -> BackgroundServer:
    app = create_app(llm, WorkerOptions(model_id=MODEL_ID, api_key=KEY, **options))
    server = BackgroundServer(app).start()
    wait_until(lambda: httpx.get(f"{server.url}/health").status_code == 200, "the model")
    return server


def metrics(url: str) -> dict[str, float]:
    text = httpx.get(f"{url}/metrics", headers=AUTH).text
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return {name: float(value) for name, value in (line.rsplit(" ", 1) for line in lines)}


def outcome(url: str, name: str) -> float:
    return metrics(url)[f'bllossom_worker_generations_total{{outcome="{name}"}}']


def client(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=KEY, max_retries=0, timeout=120)


def data_url(width: int, height: int, color: str = "green") -> str:
    return encode_data_url(Image.new("RGB", (width, height), color))


def user_message(text: str, url: str | None = None) -> dict[str, Any]:
    if url is None:
        return {"role": "user", "content": text}
    return {
        "role": "user",
        "content": [
            {"type": "image_url", "image_url": {"url": url}},
            {"type": "text", "text": text},
        ],
    }


@pytest.fixture(scope="module")
def worker(chat_model: ChatBllossom) -> Iterator[str]:
    """The shared worker (greedy, 12 new tokens by default); small limits to test them."""
    server = start(chat_model, max_images=2, max_body_bytes=2_000_000)
    yield server.url
    server.stop()


def test_health_is_open_and_every_other_route_needs_the_key(worker: str):
    health = httpx.get(f"{worker}/health")
    assert health.status_code == 200
    assert health.json() | {"running": 0, "waiting": 0} == {
        "status": "ok",
        "ready": True,
        "model": MODEL_ID,
        "running": 0,
        "waiting": 0,
    }
    for method, path in [
        ("GET", "/v1/models"),
        ("GET", "/metrics"),
        ("POST", "/v1/chat/completions"),
    ]:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY}):
            refused = httpx.request(method, f"{worker}{path}", headers=headers, json={})
            assert refused.status_code == 401, (path, headers)
            assert "Authorization: Bearer <key>" in refused.json()["error"]["message"]
    models = httpx.get(f"{worker}/v1/models", headers=AUTH).json()
    assert [m["id"] for m in models["data"]] == [MODEL_ID]
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{worker}/v1", api_key="wrong", max_retries=0).models.list()


def test_openai_client_streams_the_same_answer_it_returns_whole(worker: str, chat_model):
    api = client(worker)
    messages = [user_message("이 그림에 무엇이 있나요?", data_url(500, 300))]
    whole = api.chat.completions.create(
        model=MODEL_ID, messages=messages, temperature=0, max_tokens=10
    )
    answer = whole.choices[0].message.content
    assert answer and whole.choices[0].finish_reason == "length"
    assert whole.usage.completion_tokens == 10
    local = chat_model.encode(
        [HumanMessage(content=messages[0]["content"])]  # the same prompt, rendered here
    )
    assert whole.usage.prompt_tokens == local.token_count > 1000  # the image's tokens count

    stream = api.chat.completions.create(
        model=MODEL_ID,
        messages=messages,
        temperature=0,
        max_tokens=10,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    pieces = [c.choices[0].delta.content or "" for c in chunks if c.choices]
    assert len([p for p in pieces if p]) > 1  # token by token, not one blob
    assert "".join(pieces) == answer
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"
    assert chunks[-1].usage.prompt_tokens == whole.usage.prompt_tokens


def test_chat_openai_gets_the_prompt_the_budget_counted(worker: str, processor):
    """The chain's remote path: same rendering on the worker as the local budget counts."""
    settings = Settings(
        generation={
            "worker_url": worker,
            "worker_api_key": KEY,
            "model": MODEL_ID,
            "max_new_tokens": 6,
            "temperature": 0,
        }
    )
    llm = Assistant(settings).llm
    assert isinstance(llm, ChatOpenAI)
    figure = PromptImage(image_block(data_url(900, 600)), 900, 600, number=1)
    documents = [
        Document(page_content="연차 신청 화면", metadata={"source": "/d/a.pdf", "kind": "image"})
    ]
    messages = build_messages("화면에서 무엇을 고르나요?", documents, images=[figure])
    reply = llm.invoke(messages)
    expected = PromptBudget.from_processor(processor, 100_000).count(
        "화면에서 무엇을 고르나요?", documents, [figure]
    )
    assert reply.usage_metadata["input_tokens"] == expected
    streamed = "".join(str(chunk.content) for chunk in llm.stream(messages))
    assert streamed == reply.content != ""


def huge_body() -> bytes:
    filler = base64.b64encode(os.urandom(1_800_000)).decode()
    return json.dumps({"messages": [user_message("x", f"data:image/png;base64,{filler}")]}).encode()


def claimed_png(image: Image.Image, real_format: str) -> str:
    """An image in another format sent as ``data:image/png`` (the claim is never trusted)."""
    buffer = io.BytesIO()
    image.save(buffer, format=real_format)
    return bytes_data_url(buffer.getvalue(), "image/png")


def claiming(width: int, height: int) -> str:
    return "data:image/png;base64," + base64.b64encode(png_claiming(width, height)).decode()


def body(**fields: Any) -> bytes:
    return json.dumps({"messages": [user_message("hi")], **fields}).encode()


MALFORMED = {
    "bad base64": (
        body(messages=[user_message("hi", "data:image/png;base64,@@not-base64@@")]),
        400,
        "messages[0].content[0]: image data is not valid base64",
    ),
    "not an image": (
        body(messages=[user_message("hi", "data:image/png;base64,aGVsbG8=")]),
        400,
        "messages[0].content[0]: not a readable image",
    ),
    "remote url": (
        body(messages=[user_message("hi", "https://example.com/cat.png")]),
        400,
        "messages[0].content[0].image_url.url: only data:image/...;base64 URLs are accepted",
    ),
    "another image format": (
        body(messages=[user_message("hi", claimed_png(Image.new("RGB", (8, 8)), "EPS"))]),
        400,
        "messages[0].content[0]: not an accepted image format: this is EPS; accepted formats",
    ),
    "huge image": (
        body(messages=[user_message("hi", claiming(9000, 9000))]),
        400,
        "messages[0].content[0]: image is 9000x9000 pixels, over the 50,000,000-pixel limit",
    ),
    "decompression bomb": (
        body(messages=[user_message("hi", claiming(30000, 30000))]),
        400,
        "messages[0].content[0]: image is too large to decode safely (Image size (900000000",
    ),
    "body over the limit": (huge_body(), 413, "over this worker's 2,000,000-byte limit"),
    "too many images": (
        body(
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "image_url", "image_url": {"url": data_url(8, 8)}}
                        for _ in range(3)
                    ],
                }
            ]
        ),
        400,
        "3 images in one request; this worker accepts at most 2",
    ),
    "content of the wrong type": (
        body(messages=[{"role": "user", "content": 5}]),
        400,
        "messages[0].content: must be a string or a list of content parts",
    ),
    "unknown part type": (
        body(messages=[{"role": "user", "content": [{"type": "audio", "data": "x"}]}]),
        400,
        "messages[0].content[0]: Input tag 'audio'",
    ),
    "max_tokens not a number": (body(max_tokens="many"), 400, "max_tokens: Input should be"),
    "messages not a list": (body(messages="hi"), 400, "messages: Input should be a valid list"),
    "no messages": (body(messages=[]), 400, "messages: List should have at least 1 item"),
    "tool role": (
        body(messages=[{"role": "tool", "content": "x"}]),
        400,
        "messages[0].role: Input should be",
    ),
    "several choices": (body(n=2), 400, "n: only n=1 is supported"),
    "max_tokens over the limit": (
        body(max_tokens=5000),
        400,
        "max_tokens: 5,000 new tokens asked for; this worker generates at most 4,096 "
        "(server.max_new_tokens)",
    ),
    "max_completion_tokens over the limit": (
        body(max_completion_tokens=4097, max_tokens=3),
        400,
        "max_completion_tokens: 4,097 new tokens asked for",
    ),
    "lone surrogate": (
        body(messages=[user_message("hi \ud800 there")]),
        400,
        "messages[0].content: contains a lone surrogate (U+D800), which is not valid Unicode",
    ),
    "lone surrogate in an image part's text": (
        body(messages=[user_message("\udfff", data_url(8, 8))]),
        400,
        "messages[0].content[1].text: contains a lone surrogate (U+DFFF)",
    ),
    "nesting past the decoder": (
        body()[:-1] + b', "metadata": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        400,
        "request body is nested more than 32 levels deep",
    ),
    "nesting past the limit": (
        body(metadata=json.loads("[" * 40 + "]" * 40)),
        400,
        "request body is nested more than 32 levels deep",
    ),
    "not json": (b"{messages: [", 400, "request body is not valid JSON"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_requests_get_a_clear_4xx_and_the_worker_stays_up(worker: str, case: str):
    payload, status, message = MALFORMED[case]
    response = httpx.post(
        f"{worker}/v1/chat/completions",
        content=payload,
        headers={**AUTH, "Content-Type": "application/json"},
        timeout=60,
    )
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert message in error["message"]
    assert error["type"] == "invalid_request_error"
    answer = client(worker).chat.completions.create(
        model=MODEL_ID, messages=[user_message("still there?")], max_tokens=2
    )
    assert answer.choices[0].message.content


def test_the_official_client_shows_the_message(worker: str):
    with pytest.raises(openai.BadRequestError, match="not valid base64"):
        client(worker).chat.completions.create(
            model=MODEL_ID, messages=[user_message("hi", "data:image/png;base64,%%%")]
        )


def test_out_of_memory_fails_that_request_and_the_worker_keeps_serving(
    worker: str, chat_model: ChatBllossom
):
    before = outcome(worker, "out_of_memory")

    def exhaust(*_: Any) -> None:
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 9.00 GiB")

    hook = chat_model.model.register_forward_pre_hook(exhaust)
    try:
        with pytest.raises(openai.InternalServerError) as refused:
            client(worker).chat.completions.create(
                model=MODEL_ID, messages=[user_message("hi")], stream=True
            )
    finally:
        hook.remove()
    assert refused.value.status_code == 503  # decided before the stream's 200 was sent
    assert refused.value.body["code"] == "out_of_memory"
    assert "ran out of memory" in refused.value.body["message"]
    answer = client(worker).chat.completions.create(model=MODEL_ID, messages=[user_message("hi")])
    assert answer.choices[0].message.content
    assert outcome(worker, "out_of_memory") == before + 1
    assert metrics(worker)["bllossom_worker_generations_running"] == 0


def test_burst_beyond_the_queue_is_refused_at_once_and_cancelling_frees_the_worker(chat_model):
    """One slot, one queue place: a third request is refused; a closed stream ends its work."""
    server = start(chat_model, max_concurrency=1, max_queue=1, max_new_tokens=100_000)
    url, api = server.url, client(server.url)
    try:
        holder = api.chat.completions.create(
            model=MODEL_ID,
            messages=[user_message("write forever")],
            max_tokens=100_000,
            stream=True,
        )
        next(iter(holder))  # generating now, holding the only slot
        queued: dict[str, Any] = {}
        waiter = threading.Thread(
            target=lambda: queued.update(
                reply=api.chat.completions.create(
                    model=MODEL_ID, messages=[user_message("me next")], max_tokens=3
                )
            )
        )
        waiter.start()
        wait_until(lambda: metrics(url)["bllossom_worker_requests_waiting"] == 1, "the queue")

        with pytest.raises(openai.RateLimitError) as refused:
            api.chat.completions.create(model=MODEL_ID, messages=[user_message("and me")])
        assert refused.value.status_code == 429
        assert refused.value.response.headers["Retry-After"] == "1"
        assert "the worker is busy: 1 generation running and 1 waiting" in str(refused.value)

        holder.close()  # the client goes away mid-stream
        wait_until(lambda: outcome(url, "cancelled") == 1, "the cancelled generation to end")
        waiter.join(timeout=120)
        assert queued["reply"].choices[0].message.content  # the queued request got the slot
        after = api.chat.completions.create(model=MODEL_ID, messages=[user_message("hi")])
        assert after.choices[0].message.content
        wait_until(lambda: metrics(url)["bllossom_worker_generations_running"] == 0, "idle")
        counts = metrics(url)
        assert (
            counts['bllossom_worker_requests_total{route="/v1/chat/completions",status="429"}'] == 1
        )
        assert outcome(url, "completed") == 2

        # A non-streaming client that gives up (read timeout) stops its generation too.
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(
                f"{url}/v1/chat/completions",
                headers=AUTH,
                json={"messages": [user_message("long")], "max_tokens": 100_000},
                timeout=httpx.Timeout(60, read=1.0),
            )
        wait_until(lambda: outcome(url, "cancelled") == 2, "the abandoned generation to end")
        left = 'bllossom_worker_requests_total{route="/v1/chat/completions",status="499"}'
        wait_until(lambda: metrics(url).get(left) == 1, "its 499 to be counted", limit=30)

        # A client that gives up while queued leaves the queue and never generates.
        holder = api.chat.completions.create(
            model=MODEL_ID, messages=[user_message("again")], max_tokens=100_000, stream=True
        )
        next(iter(holder))
        gave_up: list[BaseException] = []

        def impatient() -> None:
            try:
                httpx.post(
                    f"{url}/v1/chat/completions",
                    headers=AUTH,
                    json={"messages": [user_message("queued")], "max_tokens": 3},
                    timeout=httpx.Timeout(60, read=3.0),
                )
            except httpx.ReadTimeout as error:
                gave_up.append(error)

        queued_client = threading.Thread(target=impatient)
        queued_client.start()
        wait_until(lambda: metrics(url)["bllossom_worker_requests_waiting"] == 1, "the queue")
        queued_client.join(timeout=60)
        assert gave_up, "the queued request was never answered"
        wait_until(lambda: metrics(url)["bllossom_worker_requests_waiting"] == 0, "queue exit")
        holder.close()
        wait_until(lambda: outcome(url, "cancelled") == 3, "the holder to end")
        assert outcome(url, "completed") == 2  # the queued request never started
        assert metrics(url)["bllossom_worker_generations_running"] == 0
    finally:
        server.stop()


def test_a_request_over_the_timeout_gets_504(chat_model):
    server = start(chat_model, timeout=1.0, max_new_tokens=100_000)
    try:
        with pytest.raises(openai.APIStatusError) as late:
            client(server.url).chat.completions.create(
                model=MODEL_ID, messages=[user_message("long")], max_tokens=100_000
            )
        assert late.value.status_code == 504
        assert "longer than the 1 s timeout" in late.value.body["message"]
        wait_until(lambda: outcome(server.url, "timeout") == 1, "the timed-out generation to end")
    finally:
        server.stop()


@pytest.mark.slow
def test_serve_command_runs_the_worker(cli_env: dict[str, str]):
    port = free_port()
    command = ["bllossom-rag", "serve", "--model", GENERATOR_MODEL, "--port", str(port)]
    command += ["--api-key", KEY, "--max-queue", "1", "--max-concurrency", "1"]
    process = subprocess.Popen(command, env=cli_env, stdout=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:

        def ready() -> bool:
            assert process.poll() is None, "the worker exited"
            try:
                return httpx.get(f"{url}/health").status_code == 200
            except httpx.TransportError:
                return False

        wait_until(ready, "bllossom-rag serve", limit=240)
        answer = client(url).chat.completions.create(
            model=MODEL_ID, messages=[user_message("hi", data_url(64, 64))], max_tokens=3
        )
        assert answer.choices[0].message.content
        assert answer.usage.completion_tokens == 3
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=60)
    assert f"on http://127.0.0.1:{port}/v1 (API key required" in output


def test_serve_command_refuses_a_missing_model(cli_env: dict[str, str], tmp_path):
    result = subprocess.run(
        ["bllossom-rag", "serve", "--model", str(tmp_path / "nothing")],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "generator model folder not found" in result.stderr
    assert "Traceback" not in result.stderr


REQUESTS = 'bllossom_worker_requests_total{route="/v1/chat/completions",status="%d"}'


def test_every_response_is_counted(worker: str):
    """Each answer, refusals included, lands in /metrics under its status."""
    before = metrics(worker)
    sent = {400: 0, 401: 0, 413: 0}
    for case in ("lone surrogate", "nesting past the decoder", "not json", "too many images"):
        payload, status, _ = MALFORMED[case]
        answer = httpx.post(f"{worker}/v1/chat/completions", content=payload, headers=AUTH)
        assert answer.status_code == status == 400
        sent[400] += 1
    assert httpx.post(f"{worker}/v1/chat/completions", json={}).status_code == 401
    sent[401] += 1
    huge, status, _ = MALFORMED["body over the limit"]
    assert (
        httpx.post(f"{worker}/v1/chat/completions", content=huge, headers=AUTH).status_code == 413
    )
    sent[413] += 1
    after = metrics(worker)
    for status, count in sent.items():
        assert after.get(REQUESTS % status, 0) - before.get(REQUESTS % status, 0) == count, status


def test_a_route_that_fails_is_still_counted_as_a_500():
    """The counting middleware sees exceptions that Starlette turns into a 500 after it."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from serve.http.metrics import Metrics
    from serve.http.middleware import CountRequests

    async def broken(_: Any) -> None:
        raise RuntimeError("a bug")

    counts = Metrics()
    app = Starlette(
        routes=[Route("/v1/chat/completions", broken, methods=["POST"])],
        middleware=[Middleware(CountRequests, metrics=counts, routes=["/v1/chat/completions"])],
    )
    with TestClient(app, raise_server_exceptions=False) as local:
        assert local.post("/v1/chat/completions").status_code == 500
        assert local.get("/elsewhere").status_code == 404
    assert counts.requests == {("/v1/chat/completions", 500): 1, ("other", 404): 1}


def test_a_huge_message_is_refused_from_its_size_before_any_decoding(chat_model):
    """20 MB of text is far over any prompt limit: refused without tokenizing it, and before
    the broken image after it is even decoded (which would otherwise be the error): one huge
    message by its own length, many long ones by the floor under their prompt's length."""
    server = start(chat_model)
    broken = "data:image/png;base64,@@not-base64@@"

    def refusal(messages: list[dict[str, Any]]) -> dict[str, Any]:
        answer = httpx.post(
            f"{server.url}/v1/chat/completions",
            json={"messages": messages},
            headers=AUTH,
            timeout=120,
        )
        assert answer.status_code == 400, answer.text
        return answer.json()["error"]

    try:
        huge = refusal([user_message("many words " * 2_000_000, broken)])
        assert huge["param"] == "messages[0].content"
        assert huge["message"] == (
            "messages[0].content: 22,000,000 characters of text; this worker accepts at most "
            "65,536 in one message (server.max_message_chars)"
        )
        long = [user_message("many words " * 5_400) for _ in range(39)]
        error = refusal([*long, user_message("many words " * 5_400, broken)])
        assert error["code"] == "context_length_exceeded"
        floor, _, rest = error["message"].removeprefix("the prompt is at least ").partition(" ")
        assert int(floor.replace(",", "")) > 16384
        assert rest.startswith("tokens (estimated from its 2,376,000 characters of text)")
        assert rest.endswith("(server.max_prompt_tokens)")
        assert metrics(server.url)["bllossom_worker_prompts_encoding"] == 0
    finally:
        server.stop()


def test_a_request_of_too_many_messages_is_refused_naming_the_setting(worker: str):
    answer = httpx.post(
        f"{worker}/v1/chat/completions",
        json={"messages": [user_message("안녕하세요")] * 129},
        headers=AUTH,
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == (
        "messages: 129 messages in one request; this worker accepts at most 128 "
        "(server.max_messages)"
    )


@pytest.fixture(scope="module")
def large_png() -> str:
    """A 49-megapixel PNG (under the 50 MP limit) as a data URL: seconds to decode and process."""
    buffer = io.BytesIO()
    Image.new("RGB", (7000, 7000), "gray").save(buffer, format="PNG", compress_level=1)
    return bytes_data_url(buffer.getvalue(), "image/png")


def large_request(large_png: str, images: int) -> dict[str, Any]:
    parts = [{"type": "image_url", "image_url": {"url": large_png}} for _ in range(images)]
    return {"messages": [{"role": "user", "content": [*parts, {"type": "text", "text": "?"}]}]}


def test_encoding_counts_against_the_timeout(chat_model, large_png):
    server = start(chat_model, timeout=0.5)
    try:
        late = httpx.post(
            f"{server.url}/v1/chat/completions",
            json=large_request(large_png, 2),
            headers=AUTH,
            timeout=120,
        )
        assert late.status_code == 504, late.text
        assert late.json()["error"]["message"] == (
            "the request took longer than the 0.5 s timeout (while encoding the prompt)"
        )
        wait_until(lambda: metrics(server.url)["bllossom_worker_prompts_encoding"] == 0, "stop")
        counts = metrics(server.url)
        assert counts['bllossom_worker_prompts_abandoned_total{reason="timeout"}'] == 1
        assert counts["bllossom_worker_generations_running"] == 0  # the slot came back
        assert (
            sum(
                counts[f'bllossom_worker_generations_total{{outcome="{name}"}}']
                for name in ("completed", "cancelled", "timeout", "error")
            )
            == 0
        )
    finally:
        server.stop()


def raw_request(url: str, payload: bytes) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    connection = socket.create_connection((host, int(port)))
    head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: Bearer {KEY}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    )
    connection.sendall(head.encode() + payload)
    return connection


def test_encoding_stops_when_the_client_leaves(chat_model, large_png):
    server = start(chat_model)
    url = server.url
    try:
        connection = raw_request(url, json.dumps(large_request(large_png, 4)).encode())
        wait_until(lambda: metrics(url)["bllossom_worker_prompts_encoding"] == 1, "encoding")
        connection.close()  # the client gives up while its images are being decoded
        wait_until(lambda: metrics(url)["bllossom_worker_generations_running"] == 0, "the slot")
        counts = metrics(url)
        assert counts["bllossom_worker_prompts_encoding"] == 0
        assert counts['bllossom_worker_prompts_abandoned_total{reason="cancelled"}'] == 1
        assert counts.get(REQUESTS % 499) == 1
        assert outcome(url, "completed") == outcome(url, "cancelled") == 0  # never generated
    finally:
        server.stop()


def trickle(connection: socket.socket, data: bytes) -> tuple[bytes, bool]:
    """Send ``data`` a byte at a time, as a slow client would.

    Returns:
        What the server sent back, and whether it closed the connection before the end.

    """
    connection.settimeout(0.05)
    received = b""
    for byte in data:
        try:
            connection.send(bytes([byte]))
            chunk = connection.recv(65536)
        except TimeoutError:
            continue  # nothing to read yet: the server is still waiting
        except (BrokenPipeError, ConnectionResetError):
            return received, True
        if not chunk:
            return received, True
        received += chunk
    return received, False


def test_a_client_trickling_its_headers_is_cut_off(chat_model):
    server = start(chat_model, read_timeout=1.0)
    try:
        host, port = server.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port))) as connection:
            head = f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}\r\nX-Pad: {'a' * 300}"
            received, closed = trickle(connection, head.encode())
        assert closed and received == b""  # cut off with no answer: there is no request yet
        assert httpx.get(f"{server.url}/health").status_code == 200  # others are still served
    finally:
        server.stop()


def test_a_client_trickling_its_body_gets_408(chat_model):
    server = start(chat_model, read_timeout=1.0)
    try:
        host, port = server.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port))) as connection:
            connection.sendall(
                f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}\r\n"
                f"Authorization: Bearer {KEY}\r\nContent-Length: 100000\r\n\r\n".encode()
            )
            answer, closed = trickle(connection, b"x" * 300)
        assert closed, "the server kept reading the body"
        head, _, payload = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408 "), answer[:200]
        assert b"connection: close" in head.lower()
        message = json.loads(payload)["error"]["message"]
        assert message.startswith("the request body did not arrive within 1 s")
        assert metrics(server.url).get(REQUESTS % 408) == 1
    finally:
        server.stop()


def test_health_shows_no_paths(chat_model, tmp_path):
    served = WorkerOptions(model_id=GENERATOR_MODEL, api_key=KEY)
    with BackgroundServer(create_app(chat_model, served)) as server:
        wait_until(lambda: httpx.get(f"{server.url}/health").status_code == 200, "the model")
        health = httpx.get(f"{server.url}/health").json()
        assert health["model"] == Path(GENERATOR_MODEL).name
        assert GENERATOR_MODEL not in json.dumps(health)
    missing = tmp_path / "secret-folder"
    broken = ChatBllossom(model_name=str(missing), device="cpu")
    with BackgroundServer(create_app(broken, WorkerOptions(model_id=str(missing)))) as server:
        wait_until(lambda: httpx.get(f"{server.url}/health").json()["status"] == "error", "fail")
        health = httpx.get(f"{server.url}/health")
        assert health.status_code == 503
        assert health.json()["model"] == "secret-folder"
        assert str(tmp_path) not in health.text
        refused = httpx.post(f"{server.url}/v1/chat/completions", json=json.loads(body()))
        assert refused.status_code == 503
        assert str(missing) in refused.json()["error"]["message"]  # the reason, for clients


def test_the_worker_takes_the_stores_keys_until_revoked(chat_model: ChatBllossom, tmp_path):
    """Keys made with ``keys create`` work on the GPU worker too, beside its own key."""
    key = new_key()
    with Store(tmp_path / "data") as store:
        store.add_key(ApiKey("gpu-user", key_digest(key), created_at=time.time()))
        options = WorkerOptions(model_id=MODEL_ID, api_key=KEY)
        server = BackgroundServer(create_app(chat_model, options, registry=store)).start()
        try:
            wait_until(lambda: httpx.get(f"{server.url}/health").status_code == 200, "the model")
            auth = {"Authorization": f"Bearer {key}"}
            assert httpx.get(f"{server.url}/v1/models", headers=auth).status_code == 200
            assert httpx.get(f"{server.url}/v1/models", headers=AUTH).status_code == 200
            store.revoke_key("gpu-user", time.time())
            assert httpx.get(f"{server.url}/v1/models", headers=auth).status_code == 401
        finally:
            server.stop()

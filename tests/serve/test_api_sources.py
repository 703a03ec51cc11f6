"""The RAG API's sources open: ``url`` and ``document_url`` on every source, 404 for the rest.

A real server over a store of the examples, a PDF and an hr-only memo, answering with the
scripted model, so the sources and the support check are known in advance.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import openai
import pytest

from devkit.corpus import korean_pdf
from devkit.models import EMBEDDING_MODEL, EXAMPLES, GENERATOR_MODEL
from ingest.pipeline import Ingestor
from rag.assistant import Assistant
from rag.config import Settings
from rag.images import open_image
from rag.store import Store
from serve.api import ApiOptions, create_app
from serve.http.server import BackgroundServer
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

HR_KEY, PUBLIC_KEY = "key-hr-sources-0001", "key-public-sources-0001"
KEYS = {HR_KEY: ("hr",), PUBLIC_KEY: ()}
MEMO = "인사 메모: 2027년 임금 인상률은 4.5퍼센트로 정했다."
PDF_QUESTION = "When does the Busan office open?"  # page 2 of the PDF, in English


@pytest.fixture(scope="module")
def data(embeddings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("api-sources")
    reports = root / "reports"
    reports.mkdir()
    korean_pdf(reports / "연차보고서.pdf")
    (root / "hr").mkdir()
    (root / "hr" / "memo.md").write_text(f"# 메모\n\n{MEMO}", encoding="utf-8")
    settings = Settings(data_dir=root / "data", embedding={"model": EMBEDDING_MODEL})
    with Store(settings.data_dir) as store:
        ingestor = Ingestor.from_settings(settings, store, embeddings)
        ingestor.ingest([EXAMPLES, reports], collection="handbook")
        ingestor.ingest([root / "hr"], collection="handbook", groups=["hr"])
    return settings.data_dir


def scripted(data: Path, script: str) -> Assistant:
    return Assistant(
        Settings(
            data_dir=data,
            device="cpu",
            embedding={"model": EMBEDDING_MODEL},
            generation={"model": GENERATOR_MODEL, "scripted_answer": script},
        )
    )


@pytest.fixture(scope="module")
def api(data: Path) -> Iterator[str]:
    assistant = scripted(data, "{1} [1]")
    server = BackgroundServer(create_app(assistant, ApiOptions(keys=KEYS))).start()
    wait_until(lambda: httpx.get(f"{server.url}/health").status_code == 200, "warm models")
    yield server.url
    server.stop()
    assistant.close()


def client(url: str, key: str = PUBLIC_KEY) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=120)


def get(api: str, path: str, key: str = PUBLIC_KEY) -> httpx.Response:
    return httpx.get(f"{api}{path}", headers={"Authorization": f"Bearer {key}"}, timeout=120)


def answer(api: str, question: str, key: str = PUBLIC_KEY) -> tuple[str, list, list]:
    reply = client(api, key).chat.completions.create(
        model="handbook", messages=[{"role": "user", "content": question}]
    )
    extra = reply.model_extra
    return reply.choices[0].message.content, extra["sources"], extra["support"]


def test_every_source_carries_its_links_and_they_open_the_passage(api: str):
    text, sources, support = answer(api, "How long must passwords be?")
    for source in sources:
        assert source["url"] == f"/v1/sources/handbook/{source['id']}"
        assert source["document_url"] == f"/v1/documents/handbook/{source['document_id']}/file"
    top = sources[0]
    opened = get(api, top["url"])
    assert opened.status_code == 200
    body = opened.json()
    assert body["text"] == top["text"] and body["path"] == "examples/handbook/security-policy.md"
    assert body["heading"] and body["page"] is None and "page_image_url" not in body
    assert body["before"] is None or isinstance(body["before"], str)
    assert body["after"] is None or isinstance(body["after"], str)
    assert (body["before"], body["after"]) != (None, None)  # the policy has several sections
    original = get(api, top["document_url"])
    assert original.status_code == 200
    assert original.content == (EXAMPLES / "handbook" / "security-policy.md").read_bytes()
    assert "security-policy.md" in original.headers["content-disposition"]
    assert original.headers["cache-control"] == "private, no-store"
    # The scripted answer quotes passage 1 and cites it: the check finds it supported.
    assert text.endswith("[1]")
    [checked] = support
    assert checked["citations"] == [1] and checked["supported"] is True
    assert text[checked["start"] : checked["end"]] == text


def test_a_pdf_source_opens_on_its_page_highlighted(api: str):
    _, sources, _ = answer(api, PDF_QUESTION)
    [pdf] = [s for s in sources if s["source"] == "reports/연차보고서.pdf"][:1]
    assert pdf["page"] == 2
    body = get(api, pdf["url"]).json()
    assert body["page_image_url"] == pdf["url"] + "/page.png"
    assert len(body["highlight"]) == 1
    page = get(api, body["page_image_url"])
    assert page.status_code == 200 and page.headers["content-type"] == "image/png"
    pixels = np.asarray(open_image(page.content).convert("RGB")).astype(int)
    height, width, _ = pixels.shape
    left, top, right, bottom = body["highlight"][0]
    box = pixels[
        round(top * height) : round(bottom * height), round(left * width) : round(right * width)
    ]
    yellow = (box[:, :, 0] > 200) & (box[:, :, 1] > 150) & (box[:, :, 2] < 200)
    assert yellow.mean() > 0.5
    assert get(api, pdf["document_url"]).content[:5] == b"%PDF-"


def test_a_key_that_may_not_read_gets_what_an_unknown_id_gets(api: str):
    _, sources, _ = answer(api, "2027년 임금 인상률은?", HR_KEY)
    memo = next(s for s in sources if s["source"] == "hr/memo.md")
    assert get(api, memo["url"], HR_KEY).json()["text"].endswith(MEMO)
    unknown_id = f"/v1/sources/handbook/{'0' * 32}"
    unknown_document = "/v1/documents/handbook/0000000000000000/file"
    for hidden, unknown in [
        (memo["url"], unknown_id),
        (memo["url"] + "/page.png", unknown_id + "/page.png"),
        (memo["document_url"], unknown_document),
        (memo["url"].replace("handbook", "hr-only"), unknown_id.replace("handbook", "hr-only")),
    ]:
        refused, missing = get(api, hidden), get(api, unknown)
        assert refused.status_code == missing.status_code == 404, hidden
        assert refused.json() == missing.json()
        assert refused.headers["content-length"] == missing.headers["content-length"]
    assert get(api, memo["url"], "not-a-key").status_code == 401


def test_a_stream_ends_with_the_support_check(api: str):
    chunks = list(
        client(api).chat.completions.create(
            model="handbook",
            messages=[{"role": "user", "content": "How long must passwords be?"}],
            stream=True,
        )
    )
    finished = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    [last] = finished
    [checked] = last.model_extra["support"]
    assert checked["supported"] is True
    assert all("support" not in (c.model_extra or {}) for c in chunks if c is not last)
    assert "url" in chunks[0].model_extra["sources"][0]


def test_a_wrong_citation_is_marked_unsupported(data: Path):
    wrong = scripted(data, "{1} [2]")
    server = BackgroundServer(create_app(wrong, ApiOptions(keys=KEYS))).start()
    try:
        wait_until(lambda: httpx.get(f"{server.url}/health").status_code == 200, "warm models")
        text, sources, support = answer(server.url, "How long must passwords be?")
        [checked] = support
        assert checked["citations"] == [2] and checked["supported"] is False
        assert len(checked["scores"]) == 1 and checked["scores"][0] < 0.5
        assert text.endswith("[2]") and len(sources) >= 2
        retrieved = httpx.post(
            f"{server.url}/v1/retrieve",
            json={"collection": "handbook", "query": "passwords"},
            headers={"Authorization": f"Bearer {PUBLIC_KEY}"},
        ).json()
        assert all({"url", "document_url"} <= set(s) for s in retrieved["sources"])
    finally:
        server.stop()
        wrong.close()


def test_opening_a_source_goes_on_the_trail(data: Path, api: str):
    _, sources, _ = answer(api, "How long must passwords be?")
    get(api, sources[0]["url"])
    get(api, sources[0]["document_url"])
    with Store(data) as store:
        opened = [e for e in store.audit_entries() if e.action == "open"]
    kinds = [(e.surface, e.detail["what"], e.documents) for e in opened[-2:]]
    document = (sources[0]["document_id"],)
    assert kinds == [("api", "passage", document), ("api", "file", document)]

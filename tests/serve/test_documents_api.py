"""The document API for real: uvicorn, the real store and embedder, keys that write and read.

Keys are the store's (``keys create``): a writer of group hr, a reader of group hr, and a public
reader; pushes go through the one upload policy, so the same content checks and groups apply.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devkit.models import EMBEDDING_MODEL, GENERATOR_MODEL
from ingest.pipeline import Ingestor
from rag.access.keys import ApiKey, key_digest, new_key
from rag.assistant import Assistant
from rag.config import Settings
from serve.api import ApiOptions, create_app
from serve.http.server import BackgroundServer
from tests.support.waiting import wait_until

WRITER, READER, PUBLIC = new_key(), new_key(), new_key()
LEAVE = "# 휴가 규정\n\n입사 첫해에는 연차 휴가를 최대 11일까지 쓸 수 있습니다.\n"
PARKING = "# Parking\n\nVisitors park on level B2 for up to three hours free of charge.\n"


@pytest.fixture
def api(tmp_path: Path, embeddings) -> Iterator[tuple[str, Assistant]]:
    settings = Settings(
        data_dir=tmp_path / "data",
        device="cpu",
        embedding={"model": EMBEDDING_MODEL},
        generation={"model": GENERATOR_MODEL, "scripted_answer": "{1} [1]"},
    )
    notice = tmp_path / "공지.md"
    notice.write_text("# 공지\n\n식당은 12시에 엽니다.\n", encoding="utf-8")
    assistant = Assistant(settings)
    Ingestor.from_settings(settings, assistant.store, embeddings).ingest(
        [notice], collection="docs"
    )
    now = time.time()
    for name, key, groups, scopes in (
        ("writer", WRITER, ("hr",), ("read", "write")),
        ("reader", READER, ("hr",), ("read",)),
        ("public", PUBLIC, (), ("read",)),
    ):
        assistant.store.add_key(ApiKey(name, key_digest(key), groups, scopes, now))
    server = BackgroundServer(create_app(assistant, ApiOptions())).start()
    wait_until(lambda: httpx.get(f"{server.url}/health").status_code == 200, "warm models")
    yield server.url, assistant
    server.stop()
    assistant.close()


def headers(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def push(
    url: str, key: str, name: str, data: bytes, collection: str = "docs", **form: str
) -> httpx.Response:
    return httpx.post(
        f"{url}/v1/collections/{collection}/documents",
        files={"file": (name, data)},
        data=form,
        headers=headers(key),
        timeout=120,
    )


def listed(url: str, key: str, collection: str = "docs") -> httpx.Response:
    return httpx.get(f"{url}/v1/collections/{collection}/documents", headers=headers(key))


def retrieved(url: str, key: str, query: str, collection: str = "docs") -> list[dict]:
    answer = httpx.post(
        f"{url}/v1/retrieve",
        json={"collection": collection, "query": query},
        headers=headers(key),
        timeout=60,
    )
    return answer.json().get("sources", []) if answer.status_code == 200 else []


def test_a_writer_pushes_lists_and_deletes_and_a_reader_may_only_read(api):
    url, assistant = api
    refused = push(url, READER, "휴가.md", LEAVE.encode(), groups="hr")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "insufficient_scope"

    pushed = push(url, WRITER, "휴가.md", LEAVE.encode(), groups="hr")
    assert pushed.status_code == 201, pushed.text
    document = pushed.json()
    assert (document["status"], document["groups"], document["collection"]) == (
        "ingested",
        ["hr"],
        "docs",
    )
    assert document["chunks"] >= 1
    again = push(url, WRITER, "휴가.md", LEAVE.encode(), groups="hr")
    assert (again.status_code, again.json()["status"], again.json()["id"]) == (
        200,
        "unchanged",
        document["id"],
    )

    for key, sees in ((WRITER, True), (READER, True), (PUBLIC, False)):
        ids = {d["id"] for d in listed(url, key).json()["data"]}
        assert (document["id"] in ids) is sees
        found = retrieved(url, key, "입사 첫해 연차 휴가는 며칠인가요?")
        assert any("11일" in s["text"] for s in found) is sees

    assert (
        httpx.delete(
            f"{url}/v1/collections/docs/documents/{document['id']}", headers=headers(READER)
        ).status_code
        == 403
    )
    gone = httpx.delete(
        f"{url}/v1/collections/docs/documents/{document['id']}", headers=headers(WRITER)
    )
    assert gone.status_code == 200 and gone.json()["deleted"] is True
    assert document["id"] not in {d["id"] for d in listed(url, WRITER).json()["data"]}
    assert not any("11일" in s["text"] for s in retrieved(url, WRITER, "연차 휴가는 며칠인가요?"))
    missing = httpx.delete(
        f"{url}/v1/collections/docs/documents/{document['id']}", headers=headers(WRITER)
    )
    assert missing.status_code == 404

    trail = [e for e in assistant.store.audit_entries() if e.action == "document"]
    assert [(e.who, e.surface, e.detail["change"]) for e in trail] == [
        ("writer", "api", "pushed"),
        ("writer", "api", "pushed"),
        ("writer", "api", "deleted"),
    ]
    assert all(e.documents == (document["id"],) for e in trail)


def test_a_push_is_held_to_the_keys_groups_and_the_content_checks(api):
    url, _ = api
    foreign = push(url, WRITER, "규정.md", LEAVE.encode(), groups="hr,legal")
    assert foreign.status_code == 403
    assert foreign.json()["error"]["message"] == "groups must be among this key's own; not: legal"
    fake = push(url, WRITER, "report.pdf", b"plain text that claims to be a PDF")
    assert fake.status_code == 422
    message = fake.json()["error"]["message"]
    assert message.startswith("report.pdf: ") and "\n" not in message
    nofile = httpx.post(
        f"{url}/v1/collections/docs/documents", data={"groups": "hr"}, headers=headers(WRITER)
    )
    assert nofile.status_code == 400 and nofile.json()["error"]["param"] == "file"
    bad_name = push(url, WRITER, "a.md", PARKING.encode(), collection="no spaces")
    assert bad_name.status_code == 400 and bad_name.json()["error"]["param"] == "collection"
    # A new collection is made by its first document; a reader of other groups cannot see it.
    created = push(url, WRITER, "parking.md", PARKING.encode(), collection="facilities")
    assert created.status_code == 201
    assert listed(url, PUBLIC, "facilities").json()["data"][0]["id"] == created.json()["id"]
    assert listed(url, PUBLIC, "nothing-here").status_code == 404


def test_concurrent_pushes_are_all_kept_and_one_name_ends_consistent(api):
    url, assistant = api
    versions = [f"# 버전 {n}\n\n회의실 {n}번은 {n}층에 있습니다.\n".encode() for n in range(2)]
    pushes = [("같은이름.md", versions[0]), ("같은이름.md", versions[1])]
    pushes += [
        (f"문서{n}.md", f"# 문서 {n}\n\n항목 {n}의 설명입니다.\n".encode()) for n in range(4)
    ]
    answers: list[httpx.Response] = []
    threads = [
        threading.Thread(target=lambda n=n, d=d: answers.append(push(url, WRITER, n, d)))
        for n, d in pushes
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert len(answers) == 6 and all(a.status_code == 201 for a in answers), answers
    documents = {Path(d.source_path).name: d for d in assistant.store.documents("docs")}
    assert set(documents) >= {"같은이름.md", *(f"문서{n}.md" for n in range(4))}
    same = documents["같은이름.md"]
    on_disk = Path(same.source_path).read_bytes()
    assert on_disk in versions  # the file is one of the two pushes...
    [chunk] = assistant.store.document_chunks("docs", same.id)
    assert chunk.text in on_disk.decode()  # ...and the store holds that same one

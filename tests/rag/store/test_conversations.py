"""Saved conversations on both backends: per person, turns in order, sharing, exports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.access import Access
from rag.conversations import SavedSource, SavedTurn
from rag.conversations.export import ExportWords, as_json, as_markdown
from rag.conversations.records import title_of
from rag.conversations.sharing import may_open
from rag.store import DocumentStore
from tests.support.stores import BACKENDS, open_backend, put_document

ANN, BOB = "ann@corp.example", "bob@corp.example"


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> DocumentStore:
    opened = open_backend(request, request.param, tmp_path / "data")
    request.addfinalizer(opened.close)
    return opened


def source(number: int, document_id: str, text: str = "연차는 15일이다.") -> SavedSource:
    return SavedSource(number, document_id, f"/docs/{document_id}", None, text, 0.9)


def turn(question: str, *sources: SavedSource, collection: str = "c", at: float = 100.0):
    answer = " ".join(f"[{s.number}]" for s in sources) or "없습니다."
    return SavedTurn(question, answer, collection, tuple(sources), asked_at=at)


def test_a_conversation_keeps_its_turns_in_order_for_its_owner_only(store: DocumentStore):
    started = store.start_conversation(ANN, title_of("연차는 며칠인가요?"), "c")
    assert store.add_turn(started.id, ANN, turn("연차는 며칠인가요?", source(1, "leave.md"), at=5))
    later = turn("그럼 병가는요?", source(1, "sick.md"), source(2, "leave.md"), collection="hr")
    assert store.add_turn(started.id, ANN, later)
    opened = store.conversation(started.id, ANN)
    assert opened is not None
    assert [t.question for t in opened.turns] == ["연차는 며칠인가요?", "그럼 병가는요?"]
    assert opened.turns[1] == later  # sources, numbers and all, as they were shown
    assert opened.collection == "hr"  # the collection of its last turn: reopening picks it
    assert opened.cited() == [("c", "leave.md"), ("hr", "sick.md"), ("hr", "leave.md")]
    # someone else's id is no id at all: nothing to open, append, rename, share or delete
    assert store.conversation(started.id, BOB) is None
    assert not store.add_turn(started.id, BOB, turn("남의 대화"))
    assert not store.rename_conversation(started.id, BOB, "mine now")
    assert store.share_conversation(started.id, BOB) is None
    assert not store.delete_conversation(started.id, BOB)
    assert len(store.conversation(started.id, ANN).turns) == 2
    assert store.conversations(BOB) == []


def test_the_list_is_latest_first_and_rename_and_delete_change_it(store: DocumentStore):
    first = store.start_conversation(ANN, "first", "c")
    second = store.start_conversation(ANN, "second", "c")
    store.start_conversation(BOB, "bob's", "c")
    store.add_turn(first.id, ANN, turn("again", at=second.updated_at + 10))
    assert [c.title for c in store.conversations(ANN)] == ["first", "second"]
    assert all(c.turns == () for c in store.conversations(ANN))  # the list reads no turns
    assert store.rename_conversation(second.id, ANN, "renamed")
    assert store.delete_conversation(first.id, ANN)
    assert [c.title for c in store.conversations(ANN)] == ["renamed"]
    assert store.conversation(first.id, ANN) is None
    assert [c.title for c in store.conversations(BOB)] == ["bob's"]


def test_a_share_token_opens_the_conversation_until_it_is_withdrawn(store: DocumentStore):
    started = store.start_conversation(ANN, "shared", "c")
    store.add_turn(started.id, ANN, turn("연차는?", source(1, "leave.md")))
    token = store.share_conversation(started.id, ANN)
    assert token and len(token) >= 32
    assert store.share_conversation(started.id, ANN) == token  # one link per conversation
    shared = store.shared_conversation(token)
    assert shared is not None and [t.question for t in shared.turns] == ["연차는?"]
    assert store.shared_conversation("x" + token[1:]) is None
    assert store.unshare_conversation(started.id, ANN)
    assert store.shared_conversation(token) is None
    renewed = store.share_conversation(started.id, ANN)
    assert renewed != token  # a withdrawn link never works again
    store.delete_conversation(started.id, ANN)
    assert store.shared_conversation(renewed or "") is None


def test_a_shared_conversation_opens_only_for_readers_of_every_cited_document(
    store: DocumentStore,
):
    put_document(store, "public.md")
    put_document(store, "salaries.md", groups=("hr",))
    started = store.start_conversation(ANN, "mixed", "c")
    store.add_turn(started.id, ANN, turn("q1", source(1, "public.md")))
    only_public = store.conversation(started.id, ANN)
    assert may_open(only_public, Access(), store)
    store.add_turn(started.id, ANN, turn("q2", source(1, "salaries.md"), source(2, "public.md")))
    both = store.conversation(started.id, ANN)
    assert not may_open(both, Access(), store)
    assert not may_open(both, Access.for_groups(["sales"]), store)
    assert may_open(both, Access.for_groups(["hr"]), store)
    store.remove_documents("c", ["public.md"])  # gone: who may read it cannot be checked
    assert not may_open(both, Access.for_groups(["hr"]), store)


def test_exports_hold_every_turn_and_source(store: DocumentStore):
    started = store.start_conversation(ANN, "연차 문의", "c")
    store.add_turn(started.id, ANN, turn("연차는 며칠인가요?", source(1, "leave.md")))
    failed = SavedTurn("그럼 병가는요?", "", "c", error="the worker is unreachable")
    store.add_turn(started.id, ANN, failed)
    saved = store.conversation(started.id, ANN)
    markdown = as_markdown(saved, ExportWords(question="질문", sources="출처"))
    assert markdown.startswith("# 연차 문의\n")
    assert "## 1. 질문\n\n연차는 며칠인가요?" in markdown
    assert "1. leave.md\n   > 연차는 15일이다." in markdown
    assert "No answer: the worker is unreachable" in markdown
    exported = json.loads(as_json(saved))
    assert exported["title"] == "연차 문의"
    assert [t["question"] for t in exported["turns"]] == ["연차는 며칠인가요?", "그럼 병가는요?"]
    assert exported["turns"][0]["sources"][0]["document_id"] == "leave.md"
    assert "share_token" not in exported

"""The sources' sync state in the store, alike on both backends, surviving a reopen."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.store import DocumentStore
from rag.store.sync_state import SyncItem, SyncRecord
from tests.support.stores import BACKENDS, open_backend


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> DocumentStore:
    opened = open_backend(request, request.param, tmp_path / "data")
    request.addfinalizer(opened.close)
    return opened


def test_a_sources_last_sync_is_kept_and_replaced(store: DocumentStore):
    assert store.sync_records() == [] and store.sync_record("wiki") is None
    first = SyncRecord("wiki", "web", "docs", 1.0, 2.0, "partial", None, {"ingested": 3})
    store.save_sync_record(first)
    repo = SyncRecord("repo", "git", "code", 3.0, 4.0, "ok", "a" * 40, {"errors": ["x: 한글"]})
    store.save_sync_record(repo)
    assert store.sync_records() == [repo, first]  # by name
    again = SyncRecord("wiki", "web", "docs", 5.0, 6.0, "ok", None, {"ingested": 0})
    store.save_sync_record(again)
    assert store.sync_record("wiki") == again and len(store.sync_records()) == 2


def test_items_are_added_replaced_and_forgotten_per_source(store: DocumentStore):
    page = SyncItem("http://x/a", "a.html", '"v1"', "Mon, 01 Jan 2024 00:00:00 GMT", "f" * 64, 1.0)
    other = SyncItem("http://x/b", "b.pdf", None, None, "e" * 64, 1.0)
    store.save_sync_items("wiki", [page, other])
    store.save_sync_items("site", [SyncItem("http://x/a", "elsewhere.html", checked_at=2.0)])
    assert store.sync_items("wiki") == {"http://x/a": page, "http://x/b": other}
    changed = SyncItem("http://x/a", "a.html", '"v2"', None, "d" * 64, 3.0)
    store.save_sync_items("wiki", [changed], removed=["http://x/b"])
    assert store.sync_items("wiki") == {"http://x/a": changed}
    assert store.sync_items("site")["http://x/a"].path == "elsewhere.html"  # its own


def test_the_state_survives_reopening(request: pytest.FixtureRequest, tmp_path: Path):
    folder = tmp_path / "data"
    with open_backend(request, "embedded", folder) as store:
        store.save_sync_record(SyncRecord("repo", "git", "c", 1.0, 2.0, "ok", "abc"))
        store.save_sync_items("repo", [SyncItem("u", "p", checked_at=1.0)])
    with open_backend(request, "embedded", folder) as store:
        assert store.sync_record("repo").cursor == "abc"
        assert list(store.sync_items("repo")) == ["u"]

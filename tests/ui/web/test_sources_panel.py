"""The dashboard's synced sources: last sync, counts and errors, for administrators only."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from rag.store import Store
from rag.store.sync_state import SyncRecord
from tests.support.apptest import configure, en, start

SOURCES = [
    {"name": "wiki", "type": "web", "url": "http://intranet.example/wiki/"},
    {"name": "share", "type": "folder", "path": "/srv/share"},
    {"name": "new", "type": "git", "url": "/srv/repo.git"},
]


@pytest.fixture
def synced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "data"
    now = time.time()
    with Store(data) as store:
        store.save_sync_record(
            SyncRecord(
                "wiki", "web", "wiki", now - 60, now - 50, "partial",
                summary={
                    "ingested": 3, "removed": 1, "unchanged": 40, "failed": 2,
                    "chunks_embedded": 17, "notes": [], "error": None, "more_errors": 1,
                    "errors": [
                        "http://intranet.example/wiki/loop: redirect loop (3 redirects)",
                        "http://intranet.example/wiki/big.pdf: the response passed the limit",
                    ],
                },
            )
        )  # fmt: skip
        store.save_sync_record(
            SyncRecord(
                "share", "folder", "docs", now - 30, now - 29, "failed",
                summary={"error": "source 'share': /srv/share is not a folder (not mounted?)"},
            )
        )  # fmt: skip
    configure(data, tmp_path, monkeypatch)
    monkeypatch.setenv("BLLOSSOM_RAG_SOURCES", json.dumps(SOURCES))
    return data


def test_an_administrator_sees_each_source_its_counts_and_errors(synced, monkeypatch):
    monkeypatch.setenv("BLLOSSOM_RAG_UI__LOCAL_GROUPS", '["admins"]')
    monkeypatch.setenv("BLLOSSOM_RAG_ACCESS__ADMIN_GROUP", "admins")
    at = start()
    at.switch_page("views/dashboard.py").run()
    assert not at.exception, at.exception

    table = next(f.value for f in at.dataframe if en("source") in f.value)
    rows = {row[en("source")]: row for row in table.to_dict("records")}
    assert list(rows) == ["wiki", "share", "new"]  # the configuration's order
    wiki = rows["wiki"]
    assert (wiki[en("sync_ingested")], wiki[en("sync_removed")]) == (3, 1)
    assert (wiki[en("sync_unchanged")], wiki[en("sync_failed")]) == (40, 2)
    assert wiki[en("chunks_embedded")] == 17 and wiki[en("sync_status")] == "partial"
    assert rows["share"][en("sync_status")] == "failed"
    assert rows["new"][en("sync_status")] == en("never_synced")
    errors = {e.value for e in at.error}
    assert any("wiki" in e for e in errors) and any("share" in e for e in errors)
    logs = [c.value for c in at.code]
    assert any("redirect loop (3 redirects)" in log and "and 1 more error" in log for log in logs)
    assert any("/srv/share is not a folder" in log for log in logs)


def test_others_do_not_see_the_sources(synced):
    at = start()
    at.switch_page("views/dashboard.py").run()
    assert not at.exception, at.exception
    assert all(en("source") not in f.value for f in at.dataframe)
    assert not any("redirect loop" in c.value for c in at.code)

"""Keys, people and the audit trail in the store, alike on both backends; no key in plain text."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from rag.access.audit import AuditEntry, AuditLog
from rag.access.keys import ApiKey, KeyRing, key_digest, new_key
from rag.access.people import Person
from rag.store import DocumentStore, Store
from rag.store.postgres import PostgresStore
from tests.support.stores import BACKENDS, open_backend


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> DocumentStore:
    opened = open_backend(request, request.param, tmp_path / "data")
    request.addfinalizer(opened.close)
    return opened


def test_a_key_is_kept_as_its_hash_and_found_by_it(store: DocumentStore):
    key = new_key()
    record = ApiKey("bot", key_digest(key), ("hr",), ("read", "write"), created_at=1.0)
    assert store.add_key(record)
    assert not store.add_key(ApiKey("bot", key_digest(new_key())))  # the name is taken
    assert store.key_by_digest(key_digest(key)) == record
    assert store.key_by_digest(key_digest(new_key())) is None
    store.touch_key("bot", 5.0)
    assert store.revoke_key("bot", 9.0) and not store.revoke_key("bot", 10.0)
    [held] = store.api_keys()
    assert (held.last_used_at, held.revoked_at, held.groups) == (5.0, 9.0, ("hr",))


def test_a_key_ring_accepts_store_keys_until_revoked_and_none_else(store: DocumentStore):
    ring = KeyRing(configured={"config-key-0123456789": ["legal"]}, registry=store)
    assert ring.caller(None) is None  # a configured key exists: anonymous is refused
    assert ring.caller("config-key-0123456789").access.groups == {"legal"}
    key = new_key()
    store.add_key(ApiKey("bot", key_digest(key), ("hr",), ("read",), time.time()))
    caller = ring.caller(key)
    assert caller is not None and caller.name == "bot" and caller.access.groups == {"hr"}
    assert not caller.may("write")
    assert store.api_keys()[0].last_used_at is not None  # its use is recorded
    store.revoke_key("bot", time.time())
    assert ring.caller(key) is None  # refused on the next request
    assert ring.caller("") is None and ring.caller(key + "x") is None


def test_an_open_server_closes_when_the_first_key_is_made(store: DocumentStore, monkeypatch):
    monkeypatch.setattr("rag.access.keys.OPEN_CHECK_EVERY_S", 0.0)
    ring = KeyRing(registry=store)
    assert ring.caller(None) is not None  # no key anywhere: unrestricted documents only
    store.add_key(ApiKey("first", key_digest(new_key()), created_at=time.time()))
    assert ring.caller(None) is None


def test_people_are_added_then_updated(store: DocumentStore):
    store.see_person(Person("sub-1", "kim@corp.example", "Kim", ("hr",), 1.0, 1.0))
    store.see_person(Person("sub-1", "kim@corp.example", "Kim Y", ("hr", "exec"), 9.0, 9.0))
    store.see_person(Person("sub-2", None, "Lee", (), 5.0, 5.0))
    kim, lee = store.people()
    assert (kim.name, kim.groups, kim.first_seen, kim.last_seen) == (
        "Kim Y",
        ("exec", "hr"),
        1.0,
        9.0,
    )
    assert lee.email is None


def test_the_trail_keeps_order_filters_and_prunes(store: DocumentStore):
    log = AuditLog(store, "hash", retention_days=0)
    log.answered(
        who="kim", surface="web", collection="c", question="비밀?", documents=["d1", "d1", "d2"]
    )
    store.append_audit(AuditEntry(time=1.0, who="old", surface="api", action="retrieve"))
    entries = store.audit_entries()
    assert [e.who for e in entries] == ["old", "kim"]
    kim = entries[1]
    assert kim.documents == ("d1", "d2") and kim.question is None  # "hash": no text
    assert kim.question_sha256 and len(kim.question_sha256) == 64
    assert [e.who for e in store.audit_entries(who="kim")] == ["kim"]
    assert [e.who for e in store.audit_entries(since=2.0)] == ["kim"]
    assert [e.who for e in store.audit_entries(limit=1)] == ["kim"]
    assert store.prune_audit(2.0) == 1 and [e.who for e in store.audit_entries()] == ["kim"]


def test_the_database_holds_no_key_in_plain_text(store: DocumentStore, tmp_path: Path, request):
    key = new_key()
    store.add_key(ApiKey("bot", key_digest(key), ("hr",), created_at=time.time()))
    if isinstance(store, Store):
        store.close()
        raw = b"".join(
            path.read_bytes() for path in (tmp_path / "data").rglob("*") if path.is_file()
        )
    else:
        assert isinstance(store, PostgresStore)
        server = request.getfixturevalue("postgres")
        dump = tmp_path / "dump.sql"
        server.dump(store.url, dump)
        raw = dump.read_bytes()
    assert key_digest(key).encode() in raw  # the hash is there: the grep looks in the right place
    assert key.encode() not in raw and key.removeprefix("brk_").encode() not in raw

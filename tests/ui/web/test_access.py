"""Sign-in admission, groups from the identity provider, the admin page, the web audit trail.

The app runs in-process (``AppTest``) on a store whose ``인사/`` folder an access rule gives to
``hr``; answers are scripted, so what a person is shown is known exactly. The same journey with
a real OIDC provider and Chromium is in ``test_sign_in_browser.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from devkit.models import EMBEDDING_MODEL, REPO
from ingest.pipeline import Ingestor
from rag.access.keys import KeyRing, key_digest
from rag.config import Settings
from rag.store import Store
from tests.support.apptest import ask, configure, en, signed_in, source_lines
from tests.support.team import CANARY, RULES, team_settings, team_store
from ui.web.safe_markdown import literal_markdown

ADMIN = "boss@corp.example"
HR = "kim@corp.example"
OUTSIDER = "lee@corp.example"


@pytest.fixture(scope="module")
def team_data(embeddings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``team/`` ingested whole under a rule: ``공지.md`` for everyone, ``인사/`` for hr."""
    return team_store(tmp_path_factory.mktemp("team"), embeddings)


@pytest.fixture
def team_env(team_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    configure(team_data, tmp_path, monkeypatch)
    team_settings(monkeypatch)
    monkeypatch.setenv("BLLOSSOM_RAG_COLLECTION", "team")
    return team_data


def errors(at) -> list[str]:
    return [e.value for e in at.error]


def test_only_configured_people_are_let_in(team_env: Path, monkeypatch):
    # a verified address in the allowed domain: in, and recorded with its groups
    at = signed_in(HR, monkeypatch, {HR: ["legal"]}, groups=["hr"])
    assert at.chat_input and not at.error
    # an address anyone could type into an account: refused, with the reason
    at = signed_in("ceo@corp.example", monkeypatch, email_verified=False)
    assert not at.chat_input
    assert errors(at) == [en("not_admitted").format(who=literal_markdown("ceo@corp.example"))]
    assert [c.value for c in at.caption] == [en("email_not_verified")]
    assert [b.label for b in at.button] == [en("sign_out")]
    # another domain
    assert not signed_in("kim@gmail.example", monkeypatch).chat_input
    # nothing allowed at all: nobody, and the page says which settings let people in
    at = signed_in(HR, monkeypatch, domains=())
    assert errors(at) == [en("nobody_admitted")] and not at.chat_input
    with Store(team_env) as store:
        people = {person.label: person for person in store.people()}
    assert set(people) == {HR}  # only who was let in
    assert people[HR].groups == ("hr", "legal")  # the claim and the mapping together
    assert people[HR].subject == f"subject-of-{HR}"
    assert people[HR].first_seen > 0 and people[HR].last_seen >= people[HR].first_seen


def test_the_groups_claim_opens_the_restricted_answer_and_the_trail_names_it(
    team_env: Path, monkeypatch
):
    with Store(team_env) as store:
        ids = {Path(d.source_path).name: d.id for d in store.documents("team")}
        before = store.audit_entries()[-1].id if store.audit_entries() else 0
    insider = ask(signed_in(HR, monkeypatch, groups=["hr"]), CANARY)
    answer = insider.chat_message[-1].markdown[0].value.replace("\\", "")
    assert answer == f"{CANARY}. [1]"
    assert source_lines(insider)[0].startswith("**\\[1\\]** " + literal_markdown("암호.md"))
    outsider = ask(signed_in(OUTSIDER, monkeypatch, groups=["sales"]), CANARY)
    assert CANARY not in outsider.chat_message[-1].markdown[0].value.replace("\\", "")
    assert all("암호" not in line for line in source_lines(outsider))
    with Store(team_env) as store:
        entries = [e for e in store.audit_entries() if e.id > before]
    assert [(e.who, e.surface, e.action, e.collection) for e in entries] == [
        (HR, "web", "answer", "team"),
        (OUTSIDER, "web", "answer", "team"),
    ]
    assert entries[0].question == CANARY
    assert entries[0].documents[0] == ids["암호.md"]
    assert ids["암호.md"] not in entries[1].documents
    assert set(entries[1].documents) <= {ids["공지.md"]}


def test_the_admin_page_is_for_the_admin_group_only(team_env: Path, monkeypatch):
    outsider = signed_in(OUTSIDER, monkeypatch, groups=["hr"])
    with pytest.raises(ValueError, match="navigation page"):  # not among the outsider's pages
        outsider.switch_page("views/admin.py")
    # the page refuses on its own too, were it ever reached
    page = AppTest.from_file(str(REPO / "ui" / "web" / "views" / "admin.py"), default_timeout=60)
    page.user = dict(outsider.user)
    page.run()
    assert not page.exception
    assert errors(page) == [en("admin_only").format(group="admin")]
    assert not page.title and not page.tabs
    admin = signed_in(ADMIN, monkeypatch, groups=["admin"])
    admin.switch_page("views/admin.py").run()
    assert not admin.exception and not admin.error
    assert [title.value for title in admin.title] == [en("admin_title")]
    labels = [tab.label for tab in admin.tabs]
    assert labels == [
        en(key) for key in ("admin_people", "admin_keys", "admin_document_access", "admin_rules")
    ] + [en("admin_audit")]
    people = admin.tabs[0].dataframe[0].value
    assert {OUTSIDER, ADMIN} <= set(people[en("admin_who")])
    rules = admin.tabs[3].dataframe[0].value
    assert list(zip(rules[en("admin_rule_path")], rules[en("admin_groups")], strict=True)) == [
        ("인사/**", "hr")
    ]


def test_changes_on_the_admin_page_take_effect_and_are_audited(team_env: Path, monkeypatch):
    at = signed_in(ADMIN, monkeypatch, groups=["admin"])
    at.switch_page("views/admin.py").run()
    at.text_input(key="admin_key_name").set_value("hr-bot")
    at.multiselect(key="admin_key_groups").set_value(["hr"])
    next(b for b in at.button if b.label == en("admin_create_key")).click().run()
    assert not at.exception and not at.error
    [shown] = [code.value for code in at.code]
    store = Store(team_env)
    ring = KeyRing(registry=store)
    caller = ring.caller(shown)
    assert caller is not None and caller.name == "hr-bot" and caller.access.groups == {"hr"}
    [record] = [k for k in store.api_keys() if k.name == "hr-bot"]
    assert record.digest == key_digest(shown)
    [notice] = [d for d in store.documents("team") if d.source_path.endswith("공지.md")]
    at.run()
    assert not at.code  # shown that once
    # revoke it: refused from the next request on
    at.selectbox(key="admin_revoke_key").set_value("hr-bot")
    at.button(key="admin_revoke_button").click().run()
    assert not at.exception
    assert ring.caller(shown) is None
    store.close()
    # give the public notice to hr by hand
    at.selectbox(key="admin_collection").set_value("team")
    at.multiselect(key="admin_documents").set_value([notice.id])
    at.multiselect(key="admin_document_groups").set_value(["hr"]).run()
    at.button(key="admin_set_groups").click().run()
    assert not at.exception
    with Store(team_env) as store:
        changed = store.document("team", notice.id)
        trail = [e for e in store.audit_entries() if e.surface == "admin"]
        store.regroup("team", [changed], ())  # back to everyone for the other tests
    assert changed.groups == ("hr",) and changed.groups_origin == "flag"
    assert [(e.who, e.action, e.detail.get("change")) for e in trail[-3:]] == [
        (ADMIN, "key", "created"),
        (ADMIN, "key", "revoked"),
        (ADMIN, "access", None),
    ]
    assert trail[-1].documents == (notice.id,)
    assert trail[-1].detail == {"before": [], "after": ["hr"]}


def dashboard(at) -> tuple[dict[str, str], list[dict[str, list[object]]], list[str]]:
    """What the Dashboard shows: metrics, tables (as columns), section headings."""
    at.switch_page("views/dashboard.py").run()
    assert not at.exception, at.exception
    metrics = {metric.label: metric.value for metric in at.metric}
    frames = [frame.value.to_dict("list") for frame in at.dataframe]
    return metrics, frames, [header.value for header in at.subheader]


def test_the_dashboard_moves_with_nothing_the_viewer_cannot_read(
    team_env: Path, embeddings, monkeypatch
):
    before = dashboard(signed_in(OUTSIDER, monkeypatch))
    metrics, _, headings = before
    assert en("storage") not in headings and en("store_size") not in metrics
    assert metrics[en("documents_size")].endswith("B")
    folder = team_env.parent / "team" / "인사"
    (folder / "보너스.md").write_text("# 보너스\n\n" + "성과급 지급 기준. " * 400, "utf-8")
    settings = Settings(
        data_dir=team_env, embedding={"model": EMBEDDING_MODEL}, access={"rules": RULES}
    )
    with Store(team_env) as store:
        ingestor = Ingestor.from_settings(settings, store, embeddings)
        report = ingestor.ingest([folder], collection="team")
    bonus = [path for path in report.ingested if path.endswith("보너스.md")]
    assert len(bonus) == 1  # restricted to hr by the rule
    assert dashboard(signed_in(OUTSIDER, monkeypatch)) == before
    admin_metrics, _, admin_headings = dashboard(signed_in(ADMIN, monkeypatch, groups=["admin"]))
    assert en("storage") in admin_headings and en("store_size") in admin_metrics
    with Store(team_env) as store:  # as it was, for the other tests
        added = [d.id for d in store.documents("team") if d.source_path in bonus]
        store.remove_documents("team", added)

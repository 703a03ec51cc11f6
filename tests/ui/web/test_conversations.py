"""Saved conversations and the knowledge report in the web app (``AppTest``, real store).

A store with the example handbook in ``default`` and ``team/`` in ``team``, whose ``인사/``
folder an access rule gives to ``hr``; answers are scripted (``{1} [1]``), so what a person is
shown is known exactly. Every page run is a fresh session where the test says so: what a
reload or another browser sees. The same journey in Chromium is in ``test_sign_in_browser.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from devkit.models import EXAMPLES
from rag.generation.no_answer import NO_ANSWER
from rag.store import Store
from tests.support.apptest import APP, ask, configure, en, signed_in, start
from tests.support.team import CANARY, team_settings, team_store
from ui.web.auth import LOCAL_WHO
from ui.web.conversations import LINK_PARAM, SHARE_PARAM
from ui.web.safe_markdown import literal_markdown, safe_markdown

HR = "kim@corp.example"
HR_TOO = "park@corp.example"
OUTSIDER = "lee@corp.example"
GROUPS = {HR: ["hr"], HR_TOO: ["hr"]}
LUNCH = "식당은 몇 시에 엽니까?"
VACATION = "입사 첫해에는 연차 휴가를 최대 며칠까지 쓸 수 있나요?"


@pytest.fixture(scope="module")
def saved_data(embeddings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return team_store(tmp_path_factory.mktemp("conversations"), embeddings, default=EXAMPLES)


@pytest.fixture
def saved_env(saved_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    configure(saved_data, tmp_path, monkeypatch)
    team_settings(monkeypatch)
    return saved_data


def listed(at: AppTest) -> list[str]:
    """The history list's titles, as the buttons show them."""
    return [b.label for b in at.button if b.key and b.key.startswith("open-conversation-")]


def open_listed(at: AppTest, title: str) -> AppTest:
    button = next(b for b in at.button if b.key and b.label == literal_markdown(title))
    button.click().run()
    assert not at.exception, at.exception
    return at


def button(at: AppTest, key: str):
    return next(b for b in at.button if b.label == en(key))


def mine(data: Path, who: str = LOCAL_WHO):
    with Store(data) as store:
        return [store.conversation(c.id, who) for c in store.conversations(who)]


def test_every_turn_is_saved_and_reopens_with_its_collection_and_continues(saved_env: Path):
    before = {c.id for c in mine(saved_env)}
    at = start()
    at.selectbox(key="chat_collection").set_value("team").run()
    ask(ask(at, LUNCH), "그럼 몇 시에 닫나요?")
    (saved,) = [c for c in mine(saved_env) if c.id not in before]
    assert (saved.title, saved.collection, len(saved.turns)) == (LUNCH, "team", 2)
    assert safe_markdown(saved.turns[0].answer) == at.chat_message[1].markdown[0].value
    assert Path(saved.turns[0].sources[0].source).name == "공지.md"
    assert at.query_params[LINK_PARAM] == saved.id  # a reload reopens it

    again = start()  # another browser: the list has it, the picker is on the default
    assert literal_markdown(LUNCH) in listed(again)
    assert again.selectbox(key="chat_collection").value == "default"
    open_listed(again, LUNCH)
    assert [m.markdown[0].value for m in again.chat_message][::2] == [
        LUNCH,
        "그럼 몇 시에 닫나요?",
    ]
    assert again.selectbox(key="chat_collection").value == "team"  # remembered
    ask(again, "식당은 어디에 있나요?")  # continued: the same conversation grows
    (grown,) = [c for c in mine(saved_env) if c.id == saved.id]
    assert len(grown.turns) == 3 and grown.turns[2].collection == "team"

    by_link = AppTest.from_file(APP, default_timeout=240)
    by_link.query_params[LINK_PARAM] = saved.id
    by_link.run()
    assert len(by_link.chat_message) == 6


def test_rename_and_delete_ask_nothing_of_anyone_else(saved_env: Path):
    at = ask(start(), VACATION)
    (saved,) = [c for c in mine(saved_env) if c.title == VACATION]
    at.text_input(key=f"title-{saved.id}").set_value("  휴가   규정 ").run()
    button(at, "rename").click().run()
    assert literal_markdown("휴가 규정") in listed(at)
    assert [c.title for c in mine(saved_env) if c.id == saved.id] == ["휴가 규정"]
    assert not mine(saved_env, "someone@else")  # the list is per person

    delete = button(at, "delete_conversation")
    assert delete.disabled  # asks first
    at.checkbox(key=f"sure-{saved.id}").check().run()
    button(at, "delete_conversation").click().run()
    assert not at.exception, at.exception
    assert saved.id not in {c.id for c in mine(saved_env)}
    assert literal_markdown("휴가 규정") not in listed(at) and not at.chat_message
    assert LINK_PARAM not in at.query_params


def shared_page(email: str, token: str, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    at = signed_in(email, monkeypatch, GROUPS)
    at.query_params[SHARE_PARAM] = token
    at.switch_page("views/shared.py").run()
    assert not at.exception, at.exception
    return at


def shown_text(at: AppTest) -> str:
    return " ".join(m.value for m in at.markdown) + " ".join(c.value for c in at.caption)


def test_a_share_link_opens_only_for_readers_of_every_cited_document(
    saved_env: Path, monkeypatch: pytest.MonkeyPatch
):
    kim = signed_in(HR, monkeypatch, GROUPS)
    kim.selectbox(key="chat_collection").set_value("team").run()
    ask(kim, CANARY)
    assert CANARY in kim.chat_message[1].markdown[0].value  # cites 인사/암호.md
    button(kim, "share").click().run()
    (saved,) = [c for c in mine(saved_env, HR) if c.title == CANARY]
    assert saved.share_token and saved.share_token in kim.code[0].value

    refused = shared_page(OUTSIDER, saved.share_token, monkeypatch)
    assert [e.value for e in refused.error] == [en("share_refused")]
    assert CANARY not in shown_text(refused)

    colleague = shared_page(HR_TOO, saved.share_token, monkeypatch)
    assert not colleague.error and CANARY in shown_text(colleague)
    assert not colleague.chat_input and not colleague.feedback  # read-only

    button(kim, "stop_sharing").click().run()
    withdrawn = shared_page(HR_TOO, saved.share_token, monkeypatch)
    assert [e.value for e in withdrawn.error] == [en("share_refused")]


def report_of(at: AppTest) -> tuple[dict[str, str], list[list[str]]]:
    at.switch_page("views/dashboard.py").run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    gaps = next(f.value for f in at.dataframe if en("report_times_asked") in f.value)
    return metrics, [q.split(" · ") for q in gaps[en("report_questions")]]


def test_the_dashboard_reports_questions_and_gaps_as_the_viewer_may_read(
    saved_env: Path, monkeypatch: pytest.MonkeyPatch
):
    kim = signed_in(HR, monkeypatch, GROUPS)
    kim.selectbox(key="chat_collection").set_value("team").run()
    ask(ask(kim, CANARY), "내일 부산 날씨 어때요?")  # a topic change: refused, as if alone
    assert kim.chat_message[3].markdown[0].value == safe_markdown(NO_ANSWER["ko"])
    ask(kim, "부산 날씨 알려 줘")
    lee = signed_in(OUTSIDER, monkeypatch, GROUPS)
    seen_by_kim, kim_gaps = report_of(kim)
    seen_by_lee, _ = report_of(lee)
    assert int(seen_by_kim[en("report_asked")]) > int(seen_by_lee[en("report_asked")])
    assert int(seen_by_kim[en("report_not_answered")]) >= 2
    assert any({"내일 부산 날씨 어때요?", "부산 날씨 알려 줘"} <= set(g) for g in kim_gaps)
    cited = next(f.value for f in kim.dataframe if en("report_times_cited") in f.value)
    assert "암호.md" in set(cited[en("file")])
    lee_cited = [f.value for f in lee.dataframe if en("report_times_cited") in f.value]
    assert all("암호.md" not in set(f[en("file")]) for f in lee_cited)

"""Sign-in through a real OIDC provider, in Chromium: groups from its claim, the admin page.

``oidc-provider-mock`` (a real OpenID Connect provider built on Authlib) runs in this process
with three people: Kim, whose ``groups`` claim carries ``hr``; Lee, in ``sales``; and an
administrator. ``bllossom-rag ui`` runs with sign-in on, the provider in
``.streamlit/secrets.toml``, the claim as the groups' source and an access rule giving the
``인사/`` folder to ``hr``. Each person signs in with the provider's own page in a fresh
browser, asks for the restricted fact, and tries the admin page.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from devkit.models import REPO
from rag.store import Store
from tests.support.cli import Cli
from tests.support.served_ui import served_ui
from tests.support.team import CANARY, RULES, team_folder
from tests.support.waiting import free_port
from ui.web.i18n import LABELS
from ui.web.korean import attach_particles

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    # the provider's own use of Authlib's older interfaces
    pytest.mark.filterwarnings("ignore::DeprecationWarning:oidc_provider_mock"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:authlib"),
]

CHROMIUM = os.environ.get("BLLOSSOM_RAG_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts"
PEOPLE = {  # subject -> claims
    "kim": {"email": "kim@corp.example", "groups": ["hr"], "name": "김인사"},
    "lee": {"email": "lee@corp.example", "groups": ["sales"], "name": "이영업"},
    "boss": {"email": "boss@corp.example", "groups": ["admin"], "name": "관리자"},
}


def ko(key: str, **values: object) -> str:
    return attach_particles(LABELS[key][0].format(**values))


@pytest.fixture
def provider() -> Iterator[str]:
    """A real OIDC provider that knows the three people; its issuer URL."""
    from oidc_provider_mock import User, run_server_in_thread

    users = [
        User(sub=sub, claims={**claims, "email_verified": True}) for sub, claims in PEOPLE.items()
    ]
    with run_server_in_thread(user_claims=users) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture
def signed_in_app(
    tmp_path: Path, cli: Cli, cli_env: dict[str, str], provider: str
) -> Iterator[str]:
    """``team/`` ingested under the rule, and the app with sign-in through ``provider``."""
    team = team_folder(tmp_path)
    settings = {
        "BLLOSSOM_RAG_COLLECTION": "team",
        "BLLOSSOM_RAG_ACCESS__RULES": json.dumps(RULES),
        "BLLOSSOM_RAG_UI__AUTH": "true",
        "BLLOSSOM_RAG_UI__ALLOWED_DOMAINS": '["corp.example"]',
        "BLLOSSOM_RAG_UI__GROUPS_CLAIM": "groups",
        "BLLOSSOM_RAG_GENERATION__SCRIPTED_ANSWER": "{1} [1]",
    }
    cli.json("ingest", str(team), **settings)
    port = free_port()
    secrets_file = tmp_path / ".streamlit" / "secrets.toml"
    secrets_file.parent.mkdir()
    secrets_file.write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_hex(16)}"\n'
        'client_id = "bllossom-rag"\n'
        'client_secret = "test-client-secret"\n'
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n',
        encoding="utf-8",
    )
    with served_ui(tmp_path, {**cli_env, **settings}, port=port) as url:
        yield url


def test_the_providers_groups_claim_decides_and_only_admins_administer(
    signed_in_app: str, tmp_path: Path
):
    from playwright.sync_api import Page, expect, sync_playwright

    url = signed_in_app
    ARTIFACTS.mkdir(exist_ok=True)

    def sign_in(page: Page, subject: str) -> None:
        page.goto(url)
        page.get_by_role("button", name=ko("sign_in")).click()
        page.get_by_role("button", name=subject, exact=True).click()  # the provider's page
        signed_in = ko("signed_in_as", name=PEOPLE[subject]["name"])
        assert "(으)" not in signed_in  # the particle follows the name
        expect(page.get_by_text(signed_in)).to_be_visible()

    def answer_to(page: Page, question: str) -> str:
        box = page.locator("[data-testid='stChatInputTextArea']")
        box.fill(question)
        box.press("Enter")
        answer = page.locator("[data-testid='stChatMessage']").nth(1)
        expect(answer.locator("[data-testid='stFeedback']")).to_be_visible()  # all drawn
        return answer.locator("[data-testid='stMarkdownContainer']").first.inner_text()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        expect.set_options(timeout=180_000)

        def fresh_page() -> Page:
            page = browser.new_context(
                locale="ko-KR", viewport={"width": 1280, "height": 1400}
            ).new_page()
            page.set_default_timeout(180_000)
            return page

        kim = fresh_page()
        sign_in(kim, "kim")
        assert answer_to(kim, CANARY).strip() == f"{CANARY}. [1]"
        expect(kim.get_by_role("link", name=ko("page_admin"))).to_have_count(0)

        lee = fresh_page()
        sign_in(lee, "lee")
        assert CANARY not in answer_to(lee, CANARY)
        lee.goto(f"{url}/admin")  # the address typed by hand
        expect(lee.get_by_role("heading", name=ko("chat_title"))).to_be_visible()
        expect(lee.get_by_role("heading", name=ko("admin_title"))).to_have_count(0)

        boss = fresh_page()
        sign_in(boss, "boss")
        boss.get_by_role("link", name=ko("page_admin")).click()
        expect(boss.get_by_role("heading", name=ko("admin_title"))).to_be_visible()
        boss.wait_for_timeout(1000)  # the grid paints its canvas after it appears
        boss.screenshot(path=ARTIFACTS / "admin.png", full_page=True)
        browser.close()

    with Store(tmp_path / "cli-data") as store:
        people = {person.subject: person.groups for person in store.people()}
        answers = [(e.who, e.surface) for e in store.audit_entries() if e.action == "answer"]
    assert people == {"kim": ("hr",), "lee": ("sales",), "boss": ("admin",)}
    assert answers == [("kim@corp.example", "web"), ("lee@corp.example", "web")]


def test_a_conversation_survives_a_reload_and_its_share_link_refuses_outsiders(
    signed_in_app: str, tmp_path: Path
):
    """Kim asks for the restricted fact, reloads, reopens it from the list, downloads it and
    shares it; Lee, who may not read the cited document, is refused the link."""
    from playwright.sync_api import Page, expect, sync_playwright

    url = signed_in_app

    def sign_in(page: Page, subject: str) -> None:
        page.goto(url)
        page.get_by_role("button", name=ko("sign_in")).click()
        page.get_by_role("button", name=subject, exact=True).click()
        expect(page.get_by_text(ko("signed_in_as", name=PEOPLE[subject]["name"]))).to_be_visible()

    def conversation_button(page: Page):
        return page.get_by_test_id("stSidebar").get_by_role("button", name=CANARY)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        expect.set_options(timeout=180_000)

        def fresh_page() -> Page:
            context = browser.new_context(locale="ko-KR", viewport={"width": 1280, "height": 1400})
            page = context.new_page()
            page.set_default_timeout(180_000)
            return page

        kim = fresh_page()
        sign_in(kim, "kim")
        box = kim.locator("[data-testid='stChatInputTextArea']")
        box.fill(CANARY)
        box.press("Enter")
        messages = kim.locator("[data-testid='stChatMessage']")
        expect(messages.nth(1).locator("[data-testid='stFeedback']")).to_be_visible()
        kim.reload()  # the address names the conversation: it opens again
        expect(messages.nth(1)).to_contain_text(CANARY)
        kim.goto(url)  # a fresh visit: the list has it, and it opens from there
        expect(conversation_button(kim)).to_be_visible()
        expect(messages).to_have_count(0)
        conversation_button(kim).click()
        expect(messages.nth(1)).to_contain_text(f"{CANARY}. [1]")
        kim.get_by_text(ko("this_conversation")).click()
        with kim.expect_download() as download:
            kim.get_by_role("button", name="Markdown").click()
        exported = Path(download.value.path()).read_text(encoding="utf-8")
        assert exported.startswith(f"# {CANARY}\n") and "암호.md" in exported
        kim.get_by_role("button", name=ko("share")).click()
        link = kim.locator("[data-testid='stCode']").first
        expect(link).to_contain_text("/shared?s=")
        shared_url = link.inner_text().strip()

        lee = fresh_page()
        sign_in(lee, "lee")
        lee.goto(shared_url)
        expect(lee.get_by_text(ko("share_refused"))).to_be_visible()
        assert CANARY not in lee.content()
        expect(conversation_button(lee)).to_have_count(0)  # nor in Lee's own list

        kim.goto(shared_url)  # Kim may read what it cites
        expect(kim.get_by_role("heading", name=CANARY)).to_be_visible()
        expect(kim.locator("[data-testid='stChatMessage']").nth(1)).to_contain_text(CANARY)
        browser.close()

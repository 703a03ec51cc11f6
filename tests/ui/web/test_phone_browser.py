"""Every page on a phone, in Korean, in Debian's Chromium: no sideways scrolling, no English.

The app is served on a store with a few Korean documents, in Korean. Each page is opened at
390x844 (an iPhone's screen), by its address (``/chat`` typed directly too), and must fit:
neither the document nor Streamlit's main block scrolls sideways, and the page title keeps its
words whole. The visible text of each page, then each page with the sidebar open on a desktop
screen, must hold no English word other than the ones the Korean labels themselves use (``MB``,
``Top-p``) and the data's own names (models). Screenshots go to ``test-artifacts/phone-*.png``
(the screen, and ``-whole`` the whole page).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from devkit.models import EMBEDDING_MODEL, GENERATOR_MODEL, REPO
from ingest.pipeline import Ingestor
from rag.config import Settings
from rag.store import Store
from tests.support.served_ui import served_ui
from ui.web.i18n import LABELS
from ui.web.korean import attach_particles
from ui.web.services.library import upload_types

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = os.environ.get("BLLOSSOM_RAG_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts"
COLLECTION = "사내규정"
DOCUMENTS = {
    "도서관 규정.md": "# 대출 기간\n\n책은 2주 동안 빌릴 수 있습니다.",
    "휴가 규정.md": "# 연차 휴가\n\n입사 첫해에는 연차가 11일입니다.",
    "출장 규정.md": "# 출장비 정산\n\n출장비는 돌아온 뒤 5일 안에 정산합니다.",
    "보안 규정.md": "# 비밀번호 관리\n\n비밀번호는 90일마다 바꿉니다.",
}
PAGES = {"chat": "/chat", "root": "/", "library": "/library", "dashboard": "/dashboard"}
TITLES = {"chat": "chat_title", "root": "chat_title", "library": "library_title"}
TITLES["dashboard"] = "dashboard_title"

# The page's visible text: text nodes whose element is shown and not shrunk to nothing (the
# uploader's English words, drawn over in Korean by CSS, are).
VISIBLE_TEXT = """() => {
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const parts = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const element = node.parentElement;
    if (!element || ['SCRIPT', 'STYLE', 'NOSCRIPT'].includes(element.tagName)) continue;
    if (!element.checkVisibility({visibilityProperty: true, opacityProperty: true})) continue;
    const after = getComputedStyle(element, '::after').content;  // words drawn over by CSS
    if (after && after !== 'none' && after !== 'normal') parts.push(after);
    if (parseFloat(getComputedStyle(element).fontSize) === 0) continue;
    if (getComputedStyle(element).fontFamily.includes('Material')) continue;  // an icon
    parts.push(node.textContent);
  }
  return parts.join('\\n');
}"""
OVERFLOW = """() => {
  // a page with a chat box has its main block as "stAppScrollToBottomContainer"
  const main = document.querySelector('main.stMain');
  return {
    document: document.scrollingElement.scrollWidth, width: window.innerWidth,
    main: main.scrollWidth, mainWidth: main.clientWidth,
  };
}"""
# Where a title's line breaks fall: its words, each on one line.
TITLE_LINES = """(heading) => {
  const range = document.createRange();
  const text = heading.firstChild && heading.querySelector('span') || heading;
  range.selectNodeContents(text);
  return Array.from(range.getClientRects()).length;
}"""


def ko(key: str, **values: object) -> str:
    return attach_particles(LABELS[key][0].format(**values))


def allowed_english() -> set[str]:
    """The Latin words the Korean labels use themselves, the models' names (data), the file
    types the uploader lists, and "English", the language toggle's way back."""
    words = {"English", *upload_types(legacy=True)}
    for korean, _ in LABELS.values():
        words |= set(re.findall(r"[A-Za-z]{2,}", korean))
    for name in (EMBEDDING_MODEL, GENERATOR_MODEL):
        words |= set(re.findall(r"[A-Za-z]{2,}", name))
    return {word.lower() for word in words}


def english_words(text: str) -> list[str]:
    allowed = allowed_english()
    return sorted({w for w in re.findall(r"[A-Za-z]{2,}", text) if w.lower() not in allowed})


@pytest.fixture
def served(tmp_path: Path, cli_env: dict[str, str], embeddings) -> str:
    data = tmp_path / "cli-data"
    folder = tmp_path / "documents"
    folder.mkdir()
    for name, text in DOCUMENTS.items():
        (folder / name).write_text(text, encoding="utf-8")
    settings = Settings(data_dir=data, embedding={"model": EMBEDDING_MODEL})
    with Store(data) as store:
        Ingestor.from_settings(settings, store, embeddings).ingest([folder], collection=COLLECTION)
    env = {
        **cli_env,
        "BLLOSSOM_RAG_UI__LANGUAGE": "ko",
        "BLLOSSOM_RAG_COLLECTION": COLLECTION,
        "BLLOSSOM_RAG_GENERATION__SCRIPTED_ANSWER": "{1} [1]",
    }
    with served_ui(tmp_path, env) as url:
        yield url


def test_every_page_fits_a_phone_and_speaks_korean(served: str):
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    found: dict[str, list[str]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        phone = browser.new_context(
            locale="ko-KR", viewport={"width": 390, "height": 844}, has_touch=True
        ).new_page()
        phone.set_default_timeout(120_000)
        expect.set_options(timeout=120_000)
        for name, path in PAGES.items():
            phone.goto(served + path)
            title = phone.get_by_role("heading", name=ko(TITLES[name]), level=1)
            expect(title).to_be_visible()
            phone.wait_for_timeout(1500)  # charts and grids paint after they appear
            expect(phone.get_by_text("Page not found")).to_have_count(0)
            phone.screenshot(path=ARTIFACTS / f"phone-{name}.png")
            sizes = phone.evaluate(OVERFLOW)
            assert sizes["document"] <= sizes["width"], (name, sizes)
            assert sizes["main"] <= sizes["mainWidth"], (name, sizes)
            # a title of two words takes at most two lines: no word is cut in the middle
            assert title.evaluate(TITLE_LINES) <= len(ko(TITLES[name]).split()), name
            found[name] = english_words(phone.evaluate(VISIBLE_TEXT))
            # Streamlit scrolls inside its main block: a tall viewport shows the whole page
            phone.set_viewport_size({"width": 390, "height": 2400})
            phone.wait_for_timeout(500)
            assert phone.evaluate(OVERFLOW)["main"] <= 390, name
            phone.screenshot(path=ARTIFACTS / f"phone-{name}-whole.png")
            phone.set_viewport_size({"width": 390, "height": 844})

        # the empty chat: the collection's size and example questions from its documents
        phone.goto(served + "/chat")
        size = ko("collection_size", name=COLLECTION, count=len(DOCUMENTS), chunks=len(DOCUMENTS))
        expect(phone.get_by_text(size)).to_be_visible()
        examples = phone.locator("[data-testid='stButton'] button", has_text="알려 주세요")
        expect(examples).to_have_count(4)

        desktop = browser.new_context(
            locale="ko-KR", viewport={"width": 1280, "height": 1600}
        ).new_page()
        desktop.set_default_timeout(120_000)
        for name, path in PAGES.items():
            desktop.goto(served + path)
            expect(desktop.get_by_role("heading", name=ko(TITLES[name]), level=1)).to_be_visible()
            desktop.wait_for_timeout(1500)
            if name == "chat":  # the advanced settings are there, closed
                expander = desktop.locator("[data-testid='stSidebar'] [data-testid='stExpander']")
                expect(expander.get_by_text(ko("generation_settings"))).to_be_visible()
                expect(expander.get_by_text(ko("top_k"))).not_to_be_visible()
                desktop.screenshot(path=ARTIFACTS / "desktop-chat.png")
            found[f"desktop {name}"] = english_words(desktop.evaluate(VISIBLE_TEXT))
        browser.close()
    assert found == {name: [] for name in found}

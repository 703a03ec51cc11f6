"""The real thing: ``bllossom-rag ui`` served headless, driven by Debian's Chromium.

One journey through the Korean UI: upload a Korean document in the Library, ask about it in
Chat and see the streamed answer cite it, rate it, ask a follow-up, attach an image and see its
thumbnail under the answer, start a new conversation, open the Dashboard. Screenshots of each
page go to ``test-artifacts/``; the Korean-mode fixes are checked where the browser shows them
(Korean words kept whole, Streamlit's uploader words in Korean, passages without Markdown
marks, latency charts that draw one answer without Vega's "Infinite extent"). A tracking
server stands in for an attacker: the uploaded document embeds an image and a link pointing at
it, and the browser must never contact it; the e-mail address in it must not become a
``mailto:`` link.

Needs ``chromium`` (``apt-get install -y chromium``) and ``pip install playwright``; Playwright's
own browser download is not used.
"""

from __future__ import annotations

import http.server
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from PIL import Image

from devkit.models import REPO
from rag.evaluation.feedback import FeedbackLog
from tests.support.served_ui import served_ui
from ui.web.i18n import LABELS
from ui.web.korean import attach_particles

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = os.environ.get("BLLOSSOM_RAG_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts"
DOCUMENT = "도서관 규정.md"
QUESTION = "사내 도서관에서 책은 몇 주 동안 빌릴 수 있나요?"


def ko(key: str, **values: object) -> str:
    return attach_particles(LABELS[key][0].format(**values))


class _Tracker(http.server.BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def tracker() -> Iterator[tuple[str, list[str]]]:
    """A local "attacker" server that records every request it gets."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Tracker)
    _Tracker.hits = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Tracker.hits
    server.shutdown()


@pytest.fixture
def served(tmp_path: Path, cli_env: dict[str, str]) -> Iterator[str]:
    """``bllossom-rag ui`` on a free port, as a user starts it; its URL."""
    env = {
        **cli_env,
        "BLLOSSOM_RAG_GENERATION__MAX_NEW_TOKENS": "24",
        "BLLOSSOM_RAG_GENERATION__TEMPERATURE": "0",
    }
    with served_ui(tmp_path, env) as url:
        yield url


def test_upload_ask_attach_image_and_dashboard_in_chromium(served, tracker, tmp_path: Path):
    from playwright.sync_api import expect, sync_playwright

    data_dir = tmp_path / "cli-data"  # the served app's data folder (cli_env)

    track_url, hits = tracker
    document = tmp_path / DOCUMENT
    document.write_text(
        "# 사내 도서관 규정\n\n"
        "사내 도서관에서 책은 2주 동안 빌릴 수 있으며, 한 번 연장할 수 있습니다. "
        "문의: library@corp.example\n\n"
        f"![추적]({track_url}/pixel.png?leak=1) [링크]({track_url}/link?leak=2) "
        f"{track_url}/raw?leak=3\n",
        encoding="utf-8",
    )
    photo = tmp_path / "사진.png"
    Image.new("RGB", (320, 240), (200, 30, 30)).save(photo)
    ARTIFACTS.mkdir(exist_ok=True)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_context(
            # Streamlit scrolls inside its main block, so a full-page shot is one viewport:
            # tall enough for every page's whole content.
            locale="ko-KR",
            viewport={"width": 1400, "height": 2200},
        ).new_page()
        page.set_default_timeout(180_000)
        expect.set_options(timeout=180_000)  # the first answer loads the models
        console: list[str] = []
        page.on("console", lambda message: console.append(message.text))
        page.goto(f"{served}/library")

        # Library: Streamlit's own uploader words in Korean, Korean kept whole in the sidebar
        expect(page.get_by_role("heading", name=ko("library_title"))).to_be_visible()
        instructions = page.locator("[data-testid='stFileUploaderDropzoneInstructions'] span")
        drawn = instructions.first.evaluate("e => getComputedStyle(e, '::after').content")
        assert "파일당 최대 50MB" in drawn
        button = page.locator("[data-testid='stFileUploaderDropzone'] button p")
        assert "파일 고르기" in button.evaluate("e => getComputedStyle(e, '::after').content")
        caption = page.locator("[data-testid='stSidebar'] [data-testid='stCaptionContainer'] p")
        assert caption.first.evaluate("e => getComputedStyle(e).wordBreak") == "keep-all"
        expect(page.get_by_text(ko("upload_for_everyone"))).to_be_visible()  # no group picker

        # upload the Korean document into the default collection
        page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(document)
        page.get_by_role("button", name=ko("ingest_button")).click()
        expect(
            page.get_by_text(ko("ingest_summary", ingested=1, unchanged=0, failed=0))
        ).to_be_visible()
        expect(page.get_by_text(ko("documents_in", collection="default"))).to_be_visible()
        expect(page.locator("[data-testid='stDataFrame']")).to_have_count(2)
        page.wait_for_timeout(1000)  # the grids paint their canvas after they appear
        page.screenshot(path=ARTIFACTS / "library.png", full_page=True)

        # Chat: ask about it, see the streamed answer and the uploaded file as source [1]
        page.get_by_role("link", name=ko("page_chat")).click()
        chat_box = page.locator("[data-testid='stChatInputTextArea']")
        chat_box.fill(QUESTION)
        chat_box.press("Enter")
        answer = page.locator("[data-testid='stChatMessage']").nth(1)
        expect(answer.get_by_text(ko("sources", count=1))).to_be_visible()
        expect(answer.get_by_text("도서관_규정.md").first).to_be_visible()
        assert answer.locator("[data-testid='stMarkdownContainer']").first.inner_text().strip()
        assert answer.inner_text().index("[1]") < answer.inner_text().index("도서관_규정.md")
        # the passage's e-mail address is shown, as text: GFM would make it a mailto: link
        expect(answer.get_by_text("library@corp.example").first).to_be_visible()
        expect(page.locator("a[href^='mailto:']")).to_have_count(0)
        snippet = answer.locator("[data-testid='stCaptionContainer']").last.inner_text()
        assert snippet.startswith("사내 도서관 규정") and "#" not in snippet  # no Markdown marks
        answer.locator("[data-testid='stFeedbackButton']").first.click()  # thumbs up (1)
        rated = FeedbackLog.in_data_dir(data_dir)
        deadline = time.monotonic() + 60
        while not rated.entries() and time.monotonic() < deadline:
            time.sleep(0.2)
        [kept] = rated.entries()
        assert (kept.question, kept.rating) == (QUESTION, 1)

        # a follow-up is answered with the conversation; its answer keeps its own sources
        chat_box.fill("그럼 연장은 몇 번 할 수 있나요?")
        chat_box.press("Enter")
        follow_up = page.locator("[data-testid='stChatMessage']").nth(3)
        expect(follow_up.get_by_text(ko("sources", count=1))).to_be_visible()
        expect(follow_up.locator("[data-testid='stFeedback']")).to_be_visible()  # all drawn
        expect(answer.get_by_text(ko("sources", count=1))).to_be_visible()
        page.screenshot(path=ARTIFACTS / "chat.png", full_page=True)

        # Attach an image: its thumbnail appears under the new answer
        page.locator("[data-testid='stChatInput'] input[type='file']").set_input_files(photo)
        expect(page.get_by_role("button", name=f"Remove {photo.name}")).to_be_visible()
        chat_box.fill("이 사진은 어떤 색인가요?")
        expect(page.get_by_role("button", name="Send message")).to_be_enabled()  # uploaded
        chat_box.press("Enter")
        second = page.locator("[data-testid='stChatMessage']").nth(5)
        expect(second.get_by_text(ko("images_in_prompt"))).to_be_visible()
        thumbnail = second.locator("[data-testid='stImage'] img").first
        expect(thumbnail).to_be_visible()
        assert thumbnail.evaluate("img => img.naturalWidth") > 0
        page.screenshot(path=ARTIFACTS / "chat-image.png", full_page=True)

        # a new conversation starts over
        page.get_by_role("button", name=ko("new_conversation")).click()
        expect(page.locator("[data-testid='stChatMessage']")).to_have_count(0)

        # Dashboard: questions per day, counts, last ingests, generator health, latency charts
        page.get_by_role("link", name=ko("page_dashboard")).click()
        expect(page.get_by_role("heading", name=ko("dashboard_title"))).to_be_visible()
        expect(page.locator("[data-testid='stVegaLiteChart']")).to_have_count(4)
        page.wait_for_timeout(1000)  # charts and grids paint after they appear
        page.screenshot(path=ARTIFACTS / "dashboard.png", full_page=True)
        browser.close()

    assert not [line for line in console if "Infinite extent" in line], console

    assert hits == []  # nothing in the document or the answers made the browser call out

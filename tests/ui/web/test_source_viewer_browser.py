"""The source viewer in Chromium: a click on a source shows it where it stands.

A PDF source opens on its page, rendered, with the cited passage painted yellow; a PowerPoint
source opens on its slide. Answers come from the scripted model (``{1} [1]``), so which source
is ``[1]`` is known. Screenshots go to ``test-artifacts/``.

Slides as their own chunks: with the default chunk size, today's chunker packs a short deck's
slides into one chunk labelled with the first slide's page (the PPTX rework gives every slide
its own unit); this test ingests with 64-token chunks, which keeps each slide apart today.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from devkit.corpus import korean_pdf
from devkit.models import REPO, command_environment
from tests.support.cli import Cli
from tests.support.served_ui import served_ui
from ui.web.i18n import LABELS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = os.environ.get("BLLOSSOM_RAG_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts"
SLIDES = [
    ("2027년 사업 계획", "올해는 신규 고객 확보에 집중합니다. 영업 조직을 두 팀으로 나눕니다."),
    ("인력 계획", "개발자 열두 명을 새로 뽑습니다. 채용은 상반기에 마칩니다."),
    ("물류 거점", "제주 물류센터는 2027년 5월에 문을 엽니다. 센터장은 김하늘 팀장이 맡습니다."),
    ("예산", "총예산은 작년보다 12퍼센트 늘어납니다. 연구개발비는 두 배로 늘립니다."),
]


def ko(key: str, **values: object) -> str:
    return LABELS[key][0].format(**values)


def write_deck(path: Path) -> Path:
    from pptx import Presentation

    deck = Presentation()
    for title, body in SLIDES:
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text_frame.text = body
    deck.save(str(path))
    return path


def yellow_share(png: bytes) -> float:
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    yellow = (pixels[:, :, 0] > 200) & (pixels[:, :, 1] > 150) & (pixels[:, :, 2] < 200)
    return float(yellow.mean())


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    team = tmp_path / "team"
    team.mkdir()
    korean_pdf(team / "연차보고서.pdf")
    write_deck(team / "계획.pptx")
    env = {
        **os.environ,
        **command_environment(tmp_path / "cli-data"),
        "BLLOSSOM_RAG_INGEST__CHUNK_TOKENS": "64",
        "BLLOSSOM_RAG_INGEST__CHUNK_OVERLAP": "0",
        "BLLOSSOM_RAG_GENERATION__SCRIPTED_ANSWER": "{1} [1]",
    }
    report = Cli(env).json("ingest", str(team))
    assert len(report["ingested"]) == 2, report
    with served_ui(tmp_path, env) as url:
        yield url


def ask(page, question: str, answers: int) -> None:
    from playwright.sync_api import expect

    page.get_by_test_id("stChatInputTextArea").fill(question)
    page.keyboard.press("Enter")
    messages = page.get_by_test_id("stChatMessage")
    expect(messages).to_have_count(2 * answers)
    expect(messages.nth(2 * answers - 1).get_by_text("[1]").first).to_be_visible()
    expect(page.get_by_role("button", name=ko("open_source"))).not_to_have_count(0)


def test_a_pdf_source_opens_on_its_highlighted_page_and_a_slide_on_its_slide(served):
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_context(
            locale="ko-KR", viewport={"width": 1280, "height": 1400}
        ).new_page()
        page.set_default_timeout(180_000)
        expect.set_options(timeout=180_000)  # the first answer loads the models
        page.goto(served)  # the chat is the main page

        ask(page, "When does the Busan office open?", 1)
        first = page.locator(".st-key-sources-0-0-1")
        expect(page.get_by_test_id("stChatMessage").nth(1)).to_contain_text("연차보고서.pdf")
        first.get_by_role("button", name=ko("open_source")).click()
        dialog = page.get_by_role("dialog")
        expect(dialog.get_by_text("team/연차보고서.pdf · 2쪽")).to_be_visible()
        expect(dialog.get_by_text(ko("page_highlighted"))).to_be_visible()
        image = dialog.get_by_role("img").first
        expect(image).to_be_visible()
        assert yellow_share(image.screenshot()) > 0.002  # the passage's line, painted
        expect(dialog.get_by_role("button", name=ko("download_original"))).to_be_visible()
        dialog.screenshot(path=str(ARTIFACTS / "source-viewer-pdf.png"))
        page.keyboard.press("Escape")
        expect(dialog).to_have_count(0)

        ask(page, "제주 물류센터는 언제 문을 여나요?", 2)
        slide_source = page.locator(".st-key-sources-0-1-1")
        slide_source.get_by_role("button", name=ko("open_source")).click()
        dialog = page.get_by_role("dialog")
        expect(dialog.get_by_text("team/계획.pptx · 3번 슬라이드")).to_be_visible()
        expect(dialog.get_by_text("제주 물류센터는 2027년 5월에 문을 엽니다.")).to_be_visible()
        dialog.screenshot(path=str(ARTIFACTS / "source-viewer-slide.png"))
        browser.close()

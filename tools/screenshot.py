"""The README's picture of the web app, made from the code: a question, its answer and sources.

    python tools/screenshot.py [--out docs/images/web-app.png]

It ingests ``examples/`` into a store of its own, serves the web app with the scripted chat
model (the answer is the cited passage, so the picture shows real retrieval and citations on
a machine without a GPU), asks a Korean question in Chromium and saves the page. Needs the
offline models (``make offline-models``) and Debian's ``chromium``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from devkit.models import EXAMPLES, command_environment  # noqa: E402
from tests.support.served_ui import served_ui  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
QUESTION = "입사 첫해에는 연차 휴가를 며칠 쓸 수 있나요?"
TIMEOUT_MS = 300_000  # the first answer loads the models


def main() -> None:
    """Make the picture."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "images" / "web-app.png")
    out = parser.parse_args().out
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        env = {
            **os.environ,
            **command_environment(root / "data"),
            "BLLOSSOM_RAG_GENERATION__SCRIPTED_ANSWER": "{1} [1]",
        }
        subprocess.run(["bllossom-rag", "ingest", str(EXAMPLES)], env=env, check=True)
        with served_ui(root, env) as url:
            _photograph(url, out)
    print(f"wrote {out}")


def _photograph(url: str, out: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_context(
            locale="ko-KR", viewport={"width": 1280, "height": 960}
        ).new_page()
        page.set_default_timeout(TIMEOUT_MS)
        expect.set_options(timeout=TIMEOUT_MS)
        page.goto(url)
        chat_box = page.locator("[data-testid='stChatInputTextArea']")
        chat_box.fill(QUESTION)
        chat_box.press("Enter")
        answer = page.locator("[data-testid='stChatMessage']").nth(1)
        expect(answer.locator("[data-testid='stFeedback']")).to_be_visible()  # drawn in full
        page.wait_for_timeout(1000)
        out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=out)
        browser.close()


if __name__ == "__main__":
    main()

"""Answers from the command line that a person can check: sources open, wrong citations are said.

The scripted model answers (``{1} [1]`` quotes passage 1 and cites it; ``{1} [2]`` cites the
wrong passage), so what each command prints is known in advance.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from devkit.corpus import korean_pdf
from rag.images import open_image
from tests.support.cli import Cli

pytestmark = pytest.mark.slow

QUESTION = "How long must passwords be?"
RIGHT, WRONG = "{1} [1]", "{1} [2]"


@pytest.fixture
def team(examples_cli: Cli, tmp_path: Path) -> Cli:
    """The examples, and a PDF report ingested from its own folder."""
    reports = tmp_path / "reports"
    reports.mkdir()
    korean_pdf(reports / "report.pdf")
    assert examples_cli.json("ingest", str(reports))["failed"] == []
    return examples_cli


def ask(cli: Cli, script: str, question: str = QUESTION) -> dict:
    return cli.json("ask", question, BLLOSSOM_RAG_GENERATION__SCRIPTED_ANSWER=script)


def test_a_source_opens_from_its_id_in_its_document(team: Cli):
    answer = ask(team, RIGHT)
    top = answer["sources"][0]
    assert top["source"] == "examples/handbook/security-policy.md"
    assert top["collection"] == "default" and top["document_id"] and top["relevance"] == "high"
    opened = team.json("source", top["id"])
    assert opened["text"] == top["text"] and opened["path"] == top["source"]
    assert opened["heading"] == top["heading"]
    shown = team("source", top["id"])
    assert shown.exit_code == 0
    assert (
        "examples/handbook/security-policy.md" in shown.output and top["text"][:30] in shown.output
    )
    [checked] = answer["support"]
    assert checked["supported"] is True and checked["citations"] == [1]


def test_a_pdf_source_saves_its_page_highlighted_and_its_original(team: Cli, tmp_path: Path):
    answer = ask(team, RIGHT, "When does the Busan office open?")
    pdf = next(s for s in answer["sources"] if s["source"] == "reports/report.pdf")
    page, original = tmp_path / "page.png", tmp_path / "copy.pdf"
    result = team("source", pdf["id"], "--page-image", str(page), "--original", str(original))
    assert result.exit_code == 0, result.output
    assert open_image(page.read_bytes()).size[1] == 1600
    assert original.read_bytes() == (tmp_path / "reports" / "report.pdf").read_bytes()
    markdown = ask(team, RIGHT)["sources"][0]
    no_page = team("source", markdown["id"], "--page-image", str(tmp_path / "none.png"))
    assert no_page.exit_code == 1 and "has no PDF page" in no_page.output
    assert not (tmp_path / "none.png").exists()


def test_a_wrong_citation_is_one_line_under_the_sources(team: Cli):
    right = team("ask", QUESTION, BLLOSSOM_RAG_GENERATION__SCRIPTED_ANSWER=RIGHT)
    assert right.exit_code == 0 and "Check:" not in right.output
    wrong = team("ask", QUESTION, BLLOSSOM_RAG_GENERATION__SCRIPTED_ANSWER=WRONG)
    assert wrong.exit_code == 0
    [line] = [line for line in wrong.output.splitlines() if line.startswith("Check:")]
    assert "1 of 1 cited sentences" in line and "[2]" in line
    assert ask(team, WRONG)["support"][0]["supported"] is False


def test_a_source_the_groups_may_not_read_is_not_there(team: Cli):
    top = ask(team, RIGHT)["sources"][0]
    assert team("docs", "access", top["document_id"], "--groups", "it").exit_code == 0
    hidden = team("source", top["id"])
    missing = team("source", "0" * 32)
    assert hidden.exit_code == missing.exit_code == 1
    assert hidden.output.replace(top["id"], "ID") == missing.output.replace("0" * 32, "ID")
    assert team.json("source", top["id"], "--user-groups", "it")["text"] == top["text"]

"""``bllossom-rag ingest`` as a user sees it: summary table, --json, --strict, --prune."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from devkit import corpus as corpus
from tests.support.cli import Cli

logging.getLogger("fontTools").setLevel(logging.ERROR)


@pytest.mark.slow  # PDF rendering and parsing in a child process
def test_summary_strict_json_and_prune(cli: Cli, tmp_path: Path):
    folder = tmp_path / "company"
    folder.mkdir()
    pdf = corpus.korean_pdf(folder / "보고서.pdf")
    html = corpus.html_page(folder / "제품.html")
    (folder / "fake.pdf").write_bytes(corpus.png_bytes(corpus.chart()))
    for name in ("예산.doc", "계획.doc", "매출.xls"):  # legacy types no loader reads
        (folder / name).write_bytes(b"\xd0\xcf\x11\xe0 not read")

    table = cli("ingest", str(folder))
    assert table.exit_code == 0, table.output  # something was ingested, nothing crashed
    assert "ingested" in table.stdout and "보고서.pdf" in table.stdout
    assert "3 chunks (1 image)" in table.stdout  # two pages of text and the chart
    assert "content is a PNG image, not a PDF document" in table.stdout
    assert "types no loader reads: .doc 2, .xls 1" in table.stdout
    assert "2 ingested, 0 unchanged, 1 failed, 3 skipped" in table.stdout

    strict = cli("ingest", str(folder), "--strict", "--json")
    assert strict.exit_code == 1  # for the failed file; skipped types do not fail a run
    report = json.loads(strict.stdout)
    assert set(report) == {
        "ingested",
        "unchanged",
        "failed",
        "skipped",
        "chunks_embedded",
        "notices",
        "access_changes",
    }
    assert sorted(report["skipped"]) == sorted(
        str(folder.resolve() / name) for name in ("예산.doc", "계획.doc", "매출.xls")
    )
    assert sorted(report["unchanged"]) == sorted([str(pdf.resolve()), str(html.resolve())])
    assert report["failed"] == [
        {
            "path": str((folder / "fake.pdf").resolve()),
            "error": "content is a PNG image, not a PDF document (named .pdf)",
        }
    ]
    assert report["chunks_embedded"] == 0

    html.unlink()
    (folder / "fake.pdf").unlink()
    pruned = cli("ingest", str(folder), "--prune", "--json", "--strict")
    assert pruned.exit_code == 0, pruned.output
    assert json.loads(pruned.stdout)["pruned"] == [str(html.resolve())]


def test_counts_are_singular_and_plural(cli: Cli, tmp_path: Path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "one.md").write_text("연차는 열하루까지 쓸 수 있다.", encoding="utf-8")
    summary = cli("ingest", str(folder))
    assert summary.exit_code == 0, summary.output
    assert "1 chunk " in summary.stdout and "1 chunks" not in summary.stdout
    assert summary.stdout.rstrip().endswith("1 ingested, 0 unchanged, 0 failed; 1 chunk embedded")
    again = cli("ingest", str(folder))
    assert again.stdout.rstrip().endswith("0 ingested, 1 unchanged, 0 failed; 0 chunks embedded")

"""``bllossom-rag ingest`` as a user runs it: summary table, --json, --strict, --prune."""

from __future__ import annotations

import json
import logging
import subprocess
from pathlib import Path

import pytest

from tests import ingest_corpus as corpus

logging.getLogger("fontTools").setLevel(logging.ERROR)


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bllossom-rag", "ingest", *args],
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.slow  # three real command runs, each loading the embedder
def test_summary_strict_json_and_prune(cli_env: dict[str, str], tmp_path: Path):
    folder = tmp_path / "company"
    folder.mkdir()
    pdf = corpus.korean_pdf(folder / "보고서.pdf")
    html = corpus.html_page(folder / "제품.html")
    (folder / "fake.pdf").write_bytes(corpus.png_bytes(corpus.chart()))
    for name in ("예산.doc", "계획.doc", "매출.xls"):  # legacy types no loader reads
        (folder / name).write_bytes(b"\xd0\xcf\x11\xe0 not read")

    table = run(cli_env, str(folder))
    assert table.returncode == 0, table.stderr  # something was ingested, nothing crashed
    assert "ingested" in table.stdout and "보고서.pdf" in table.stdout
    assert "3 chunks (1 image)" in table.stdout  # two pages of text and the chart
    assert "content is a PNG image, not a PDF document" in table.stdout
    assert "types no loader reads: .doc 2, .xls 1" in table.stdout
    assert "2 ingested, 0 unchanged, 1 failed, 3 skipped" in table.stdout

    strict = run(cli_env, str(folder), "--strict", "--json")
    assert strict.returncode == 1  # for the failed file; skipped types do not fail a run
    report = json.loads(strict.stdout)
    assert set(report) == {
        "ingested",
        "unchanged",
        "failed",
        "skipped",
        "chunks_embedded",
        "notices",
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
    pruned = run(cli_env, str(folder), "--prune", "--json", "--strict")
    assert pruned.returncode == 0, pruned.stderr
    assert json.loads(pruned.stdout)["pruned"] == [str(html.resolve())]

"""Crafted files end inside their limits with one line each, and the rest of the ingest goes in.

The crafted files are those of the hostile review (``devkit.bombs``), at full size: each must be
refused by counting what it reads (``ingest.max_units_per_file``), by its worker's memory limit
or by an OCR budget, in one line that names the setting, while an ordinary file beside it is
ingested. A killed ingest leaves no parser or OCR worker behind.
"""

from __future__ import annotations

import collections
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from devkit import bombs
from devkit.models import REPO, command_environment
from ingest.file_limits import Limits
from ingest.loaders import load
from ingest.pipeline import Ingestor
from rag.errors import IngestError
from rag.store import Store
from tests.support.waiting import wait_until

GOOD = "연차 휴가는 입사 첫해에 최대 11일까지 사용할 수 있습니다.\n"
CRAFTED = {
    "shared-strings.xlsx": (bombs.xlsx_shared_strings, "XLSX holds more than 1,000,000 XML"),
    "empty-rows.xlsx": (bombs.xlsx_empty_rows, "XLSX holds more than 1,000,000 XML"),
    "paragraphs.docx": (bombs.docx_empty_paragraphs, "DOCX holds more than 1,000,000 XML"),
    "paragraphs.pptx": (bombs.pptx_empty_paragraphs, "PPTX holds more than 1,000,000 XML"),
    "paragraphs.hwpx": (bombs.hwpx_empty_paragraphs, "HWPX holds more than 1,000,000 XML"),
    "elements.html": (bombs.html_elements, "HTML holds more than 1,000,000 HTML elements"),
    "lines.md": (bombs.markdown_empty_lines, "Markdown holds more than 1,000,000 lines"),
}


def ingestor(store: Store, embeddings, limits: Limits | None = None) -> Ingestor:
    return Ingestor(
        store,
        embeddings,
        chunk_tokens=256,
        chunk_overlap=32,
        max_file_bytes=50 * 1024 * 1024,
        limits=limits,
    )


def test_crafted_files_fail_in_one_line_naming_the_setting_and_the_rest_goes_in(
    store: Store, embeddings, tmp_path: Path
):
    folder = tmp_path / "share"
    folder.mkdir()
    for name, (make, _) in CRAFTED.items():
        make(folder / name)
    (folder / "good.txt").write_text(GOOD, encoding="utf-8")
    report = ingestor(store, embeddings).ingest([folder], collection="default")
    assert [Path(p).name for p in report.ingested] == ["good.txt"]
    reasons = {Path(f.path).name: f.error for f in report.failed}
    assert set(reasons) == set(CRAFTED)
    for name, (_, start) in CRAFTED.items():
        reason = reasons[name]
        assert reason.startswith(start), (name, reason)
        assert reason.endswith("(ingest.max_units_per_file): split the file or raise the limit")
        assert "\n" not in reason


@pytest.mark.parametrize(
    ("name", "make"),
    [("empty-rows.xlsx", bombs.xlsx_empty_rows), ("paragraphs.docx", bombs.docx_empty_paragraphs)],
)
def test_office_files_are_parsed_under_the_time_limit(tmp_path: Path, name: str, make):
    path = make(tmp_path / name, 1000)
    label = name.rsplit(".", 1)[1].upper()
    with pytest.raises(IngestError, match=rf"^{label} parser ran past the 0\.001-second limit"):
        load(path, path.read_bytes(), Limits(pdf_timeout_s=0.001))


def test_a_parser_that_runs_out_of_memory_says_so_and_names_the_setting(tmp_path: Path):
    path = bombs.hwpx_empty_paragraphs(tmp_path / "big.hwpx", 3_000_000)
    limits = Limits(max_units_per_file=10**8, pdf_memory_mb=128)
    with pytest.raises(IngestError) as failure:
        load(path, path.read_bytes(), limits)
    assert str(failure.value) == (
        "HWPX parser ran out of its 128 MB memory limit (ingest.parser_memory_mb)"
    )


def test_ocr_stops_at_the_file_budget_then_at_the_ingest_budget(
    store: Store, embeddings, tmp_path: Path
):
    folder = tmp_path / "scans"
    folder.mkdir()
    for name in ("a.pdf", "b.pdf"):
        bombs.noise_scan(folder / name, 3)
    limits = Limits(ocr_file_budget_s=2.0, ocr_batch_budget_s=3.0)
    report = ingestor(store, embeddings, limits).ingest([folder], collection="default")
    assert not report.failed
    notes = {Path(p).name: detail.notes for p, detail in report.details.items()}
    [first] = notes["a.pdf"]
    assert (
        first
        == "skipped OCR of 3 of 3 pages: the OCR budget of 2 s (ingest.ocr.file_budget_s) is spent"
    )
    [second] = notes["b.pdf"]
    assert second == (
        "skipped OCR of 3 of 3 pages: the OCR budget of 3 s (ingest.ocr.batch_budget_s) is spent"
    )


def test_an_image_tesseract_refuses_at_once_is_not_called_a_timeout(tmp_path: Path):
    path = tmp_path / "strip.png"
    Image.new("L", (40000, 60), 255).save(path)
    loaded = load(path, path.read_bytes(), Limits())
    assert loaded.notes == [
        "skipped OCR of the image: the image is 40000x60 pixels; "
        "Tesseract reads at most 32,767 on a side"
    ]


def _descendants(pid: int) -> dict[int, str]:
    """Every living process below ``pid``, with its command line (zombies are dead)."""
    children: dict[int, list[int]] = collections.defaultdict(list)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, parent = stat.read_text().rsplit(")", 1)[1].split()[:2]
        except (OSError, IndexError):
            continue
        if state != "Z":
            children[int(parent)].append(int(stat.parent.name))
    found: dict[int, str] = {}
    stack = [pid]
    while stack:
        for child in children[stack.pop()]:
            with contextlib.suppress(OSError):
                found[child] = Path(f"/proc/{child}/cmdline").read_bytes().decode(errors="replace")
            stack.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_ocr_workers_of_an_ingest_killed_with_sigkill_exit_with_it(tmp_path: Path):
    """An image of noise keeps Tesseract busy for its whole page limit; the ingest is killed."""
    folder = tmp_path / "scans"
    folder.mkdir()
    bombs.noise_image(folder / "noise.png")
    env = {
        **os.environ,
        **command_environment(tmp_path / "data"),
        "BLLOSSOM_RAG_INGEST__OCR__TIMEOUT_S": "600",  # Tesseract would read for minutes
    }
    command = [sys.executable, "-m", "ui.cli", "ingest", str(folder)]
    ingest = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    seen: dict[int, float] = {}  # parser processes below the ingest, since when

    def reading_for_a_while() -> bool:
        """The image's only isolated work is OCR: a parser process has run for two seconds."""
        now = time.monotonic()
        for pid, line in _descendants(ingest.pid).items():
            if "ingest.isolation" in line:
                seen.setdefault(pid, now)
        return any(now - since >= 2 and _alive(pid) for pid, since in seen.items())

    try:
        wait_until(reading_for_a_while, "OCR below the ingest", limit=300)
        everything = set(seen) | set(_descendants(ingest.pid))
        os.kill(ingest.pid, signal.SIGKILL)
        ingest.wait()
        wait_until(lambda: not any(map(_alive, everything)), "every worker to exit", limit=15)
    finally:
        ingest.kill()
        for pid in seen:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)

"""The hostile corpus: each hostile file through a real ``bllossom-rag ingest``, timed and sized.

Every case is a folder holding one file (the Markdown and text cases are full size: 45 MB of
``a``, 780 images of 49 MP), ingested by the command line in a fresh process, so each row's wall
time and peak RSS are what one user's ingest of that file costs, including the process start and
the embedder load that every row shares (the ``baseline`` row: one ordinary paragraph). The
result is the file's row of the ingest's summary table and its notes: what a user reads.

Run: ``python -m benchmarks.hostile`` (a few minutes; ``--only NAME`` for some cases).
"""

from __future__ import annotations

import argparse
import io
import os
import random
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from PIL import Image

from devkit import documents as fx
from devkit.corpus import chart, png_claiming, single_line_text
from devkit.models import REPO, command_environment

T = TypeVar("T")


def _text(name: str, text: str) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        path = folder / name
        path.write_text(text, encoding="utf-8")
        return path

    return build


def _bytes(name: str, data: Callable[[], bytes]) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(data())
        return path

    return build


def _xlsx_bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", b"<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as huge:
            for _ in range(2048):  # 2 GiB of zeros in about 2 MB
                huge.write(bytes(1024 * 1024))
    return buffer.getvalue()


def _eps() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (24, 16), "orange").save(buffer, format="EPS")
    return buffer.getvalue()


def _drm_hwp(folder: Path) -> Path:
    path = fx.hancom_document(folder / "보안문서.hwp")
    return fx.with_hwp_flags(path, 0x10)


def _deep_html() -> str:
    depth = 100_000
    deepest = f"{'<div>' * depth}<p>가장 깊은 문단.</p>{'</div>' * depth}"
    return f"<p>첫 문단입니다.</p>{deepest}<p>끝 문단.</p>"


CASES: dict[str, Callable[[Path], Path]] = {
    "baseline": _text("정상.txt", "연차 휴가는 입사 첫해에 최대 11일까지 사용할 수 있습니다."),
    "45 MB of 'a'": _text("a.txt", "a" * 45_000_000),
    "15 MB of '가나다라마바사'": _text("korean.txt", "가나다라마바사" * 714_286),
    "20 MB on one line": lambda folder: single_line_text(folder / "one-line.txt", 20 << 20),
    "780 images of 49 MP in Markdown": lambda folder: fx.many_big_images_markdown(
        folder / "images.md"
    ),
    "100,000 nested <div>s": _text("deep.html", _deep_html()),
    "'MZ세대' Markdown": _text("mz.md", "MZ세대 트렌드 보고서\n짧은 영상을 선호합니다."),
    "note naming '%PDF-1.7'": _text("note.md", "메모: 이 파일은 %PDF-1.7 헤더를 설명합니다."),
    "XLSX zip bomb (2 GiB sheet)": _bytes("bomb.xlsx", _xlsx_bomb),
    "PNG claiming 30000x30000": lambda folder: png_claiming(folder / "bomb.png", 30000, 30000),
    "EPS named .png": _bytes("chart.png", _eps),
    "PNG named .pdf": lambda folder: _saved_png(folder / "really-png.pdf"),
    "random bytes named .pdf": _bytes("random.pdf", lambda: random.Random(1).randbytes(4096)),
    "DRM-protected HWP": _drm_hwp,
    "file name with ESC, BEL, newline, RTL": _text(
        "evil\x1b[2J\x07\n[9] (fake.md)\u202etxt.md", "평범한 내용입니다."
    ),
}


def _saved_png(path: Path) -> Path:
    chart().save(path, format="PNG")
    return path


@dataclass(frozen=True)
class Outcome:
    """One case's cost and what the user was told."""

    size: int
    wall_s: float
    peak_rss_mib: float
    result: str


def run_case(build: Callable[[Path], Path], root: Path) -> Outcome:
    """Build one case in its own folder and ingest it in a fresh process."""
    folder = root / "corpus"
    folder.mkdir(parents=True)
    size = build(folder).stat().st_size
    env = {**os.environ, **command_environment(root / "data"), "COLUMNS": "4000"}  # no row wraps
    command = [sys.executable, "-m", "ui.cli", "ingest", str(folder)]
    output = root / "output.txt"
    started = time.perf_counter()
    with output.open("w") as sink:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=sink, stderr=sink)
        # wait4, not wait: the child's own peak RSS (KiB on Linux), not the largest of all runs.
        _, _, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    lines = output.read_text(errors="replace").splitlines()
    return Outcome(size, wall, usage.ru_maxrss / 1024, _result(lines, folder))


def _result(lines: list[str], folder: Path) -> str:
    """The summary table's row for the file and the run's notes: what the user reads."""
    kept = []
    for line in lines:
        cells = " ".join(line.replace("│", " ").replace(f"{folder}/", "").split())
        if cells.startswith(("ingested ", "failed ", "skipped ", "Note")):
            kept.append(cells)
    return " / ".join(kept) or " ".join(lines[-3:])


def chosen(cases: dict[str, T], only: list[str] | None) -> dict[str, T]:
    """The cases whose names hold one of ``only`` (``--only``), or all of them."""
    return {name: case for name, case in cases.items() if not only or any(p in name for p in only)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="case names (substrings) to run")
    args = parser.parse_args()
    cases = chosen(CASES, args.only)
    print("| file | size | wall s | peak RSS MiB | result |")
    print("| --- | ---: | ---: | ---: | --- |")
    for name, build in cases.items():
        with tempfile.TemporaryDirectory(prefix="hostile-") as scratch:
            row = run_case(build, Path(scratch))
        result = row.result.replace("|", "\\|")
        print(
            f"| {name} | {row.size:,} B | {row.wall_s:.1f} | {row.peak_rss_mib:,.0f} | {result} |",
            flush=True,
        )


if __name__ == "__main__":
    main()

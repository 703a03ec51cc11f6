"""The crafted files of the hostile review (``devkit.bombs``), full size, through a real ingest.

Each crafted file is small on disk and enormous to parse: a workbook of 27 million shared
strings or 33 million empty rows, a DOCX of 8 million empty paragraphs, their PPTX, HWPX, HTML
and Markdown equivalents, and scans of 12 and 100 pages of noise for OCR. Each goes alone through
``bllossom-rag ingest`` in a fresh process (:func:`benchmarks.hostile.run_case`), so its wall time
and peak RSS (the process and the parser and OCR workers it waited for) are what one user's
ingest of that file costs, the Python start and the embedder load included (the ``baseline``
row: one ordinary sentence). The baseline of each crafted file is the hostile review's
measurement of the code before (issue 26), printed beside it: the review stopped some at 300 s.

Run: ``python -m benchmarks.hostile_files`` (a few minutes; ``--only NAME`` for some cases,
``--json FILE`` to write the results).
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import tempfile
from collections.abc import Callable
from pathlib import Path

from benchmarks.hostile import chosen, run_case
from devkit import bombs


def _one(make: Callable[[Path], Path], name: str) -> Callable[[Path], Path]:
    return lambda folder: make(folder / name)


def _good(folder: Path) -> Path:
    path = folder / "정상.txt"
    path.write_text("연차 휴가는 입사 첫해에 최대 11일까지 사용할 수 있습니다.\n", encoding="utf-8")
    return path


# name: (build, the review's wall time and peak RSS before, or None where it measured neither)
CASES: dict[str, tuple[Callable[[Path], Path], str | None]] = {
    "baseline": (_good, None),
    "XLSX, 27M shared strings": (
        _one(bombs.xlsx_shared_strings, "shared-strings.xlsx"),
        "276 s, 2.6 GB",
    ),
    "XLSX, 33M empty rows": (_one(bombs.xlsx_empty_rows, "empty-rows.xlsx"), "> 300 s, 2.9 GB"),
    "DOCX, 8M empty paragraphs": (
        _one(bombs.docx_empty_paragraphs, "paragraphs.docx"),
        "> 300 s, 1.8 GB",
    ),
    "PPTX, 8M empty paragraphs": (_one(bombs.pptx_empty_paragraphs, "paragraphs.pptx"), None),
    "HWPX, 8M empty paragraphs": (_one(bombs.hwpx_empty_paragraphs, "paragraphs.hwpx"), None),
    "HTML, 16M unclosed <p>": (_one(bombs.html_elements, "elements.html"), None),
    "Markdown, 45M empty lines": (_one(bombs.markdown_empty_lines, "lines.md"), None),
    "PDF, 12 scanned pages of noise": (
        lambda folder: bombs.noise_scan(folder / "noise.pdf", 12),
        "191 s",
    ),
    "PDF, 100 scanned pages of noise": (
        lambda folder: bombs.noise_scan(folder / "noise.pdf", 100),
        "~17 CPU-min; up to ~51 min (100 pages x 30 s)",
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="case names (substrings) to run")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args()
    cases = chosen(CASES, args.only)
    print("| file | size B | before (review) | wall s | peak RSS MiB | result |")
    print("| --- | ---: | --- | ---: | ---: | --- |")
    rows = []
    for name, (build, before) in cases.items():
        with tempfile.TemporaryDirectory(prefix="hostile-files-") as scratch:
            outcome = run_case(build, Path(scratch))
        row = {
            "file": name,
            "size B": outcome.size,
            "before": before or "",
            "wall s": round(outcome.wall_s, 1),
            "peak RSS MiB": round(outcome.peak_rss_mib),
            "result": outcome.result,
        }
        rows.append(row)
        result = outcome.result.replace("|", "\\|")
        print(
            f"| {name} | {outcome.size:,} | {before or '-'} | {outcome.wall_s:.1f} "
            f"| {outcome.peak_rss_mib:,.0f} | `{result}` |",
            flush=True,
        )
    if args.json:
        report = {
            "benchmark": "hostile_files",
            "command": "python -m benchmarks.hostile_files",
            "machine": f"{platform.machine()}, {platform.platform()}",
            "date": datetime.date.today().isoformat(),
            "baseline": "the hostile review's measurement of the code before (issue 26)",
            "results": rows,
        }
        args.json.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")


if __name__ == "__main__":
    main()

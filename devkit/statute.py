"""A statute laid out on A4 pages: as a born-digital PDF and as a tilted, image-only scan.

The statute of ``benchmarks/data/legal`` (8 chapters, 46 articles and 2 in the addenda, with
clauses and items; five articles are longer than 256 tokens), written for the benchmarks, is
wrapped in NanumGothic 12 pt at 200 dpi, each page with the span of the text it prints, so a
question's gold article maps to the pages it is printed on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from PIL import ImageFont

from devkit.corpus import NANUM
from devkit.documents import line_height, scanned_pdf
from devkit.models import REPO

STATUTE = REPO / "benchmarks" / "data" / "legal" / "디지털플랫폼이용자보호법.txt"
TITLE = "디지털 플랫폼 이용자 보호법"
# The page geometry of devkit.documents.scanned_pdf: A4, 12 pt, one-inch margins.
DPI = 200
FONT_PX = round(12 / 72 * DPI)
LINE_PX = line_height(FONT_PX)
PAGE = (round(8.27 * DPI), round(11.69 * DPI))
MARGIN = DPI
TILT = 0.5


@dataclass(frozen=True)
class Page:
    """One laid-out page: its lines and the span of the statute's text they print."""

    lines: tuple[str, ...]
    start: int
    end: int


def lay_out(text: str) -> list[Page]:
    """The text wrapped to the page width and cut into pages, each with its character span."""
    font = ImageFont.truetype(str(NANUM), FONT_PX)
    width = PAGE[0] - 2 * MARGIN
    per_page = (PAGE[1] - 2 * MARGIN) // LINE_PX
    lines: list[tuple[str, int]] = []  # (visual line, offset of its first character)
    offset = 0
    for paragraph in text.split("\n"):
        start = offset
        offset += len(paragraph) + 1
        if not paragraph.strip():
            lines.append(("", start))
            continue
        line = ""
        for index, char in enumerate(paragraph):
            if line and font.getlength(line + char) > width:
                lines.append((line, start + index - len(line)))
                line = ""
            line += char
        lines.append((line, start + len(paragraph) - len(line)))
    pages = []
    for first in range(0, len(lines), per_page):
        chunk = lines[first : first + per_page]
        end = lines[first + per_page][1] if first + per_page < len(lines) else len(text)
        pages.append(Page(tuple(line for line, _ in chunk), chunk[0][1], end))
    return pages


def write_pdf(pages: list[Page], path: Path, *, scanned: bool) -> Path:
    """The pages as a PDF: image-only and tilted (``scanned``), or with the same lines as text."""
    if scanned:
        return scanned_pdf(path, [page.lines for page in pages], dpi=DPI, tilt=TILT)
    from fpdf import FPDF

    pdf = FPDF(unit="pt", format="A4")
    pdf.add_font("Nanum", fname=str(NANUM))
    pdf.set_font("Nanum", size=12)
    scale = 72 / DPI
    for page in pages:
        pdf.add_page()
        for index, line in enumerate(page.lines):
            baseline = (MARGIN + index * LINE_PX + FONT_PX) * scale
            pdf.text(MARGIN * scale, baseline, line)
    pdf.output(str(path))
    return path


def gold_pages(text: str, pages: list[Page], article: str) -> set[int]:
    """The page numbers (from 1) an article is printed on."""
    start, end = article_span(text, article)
    return {n for n, p in enumerate(pages, start=1) if p.start < end and start < p.end}


def article_span(text: str, article: str) -> tuple[int, int]:
    """Where an article (``제19조``, ``부칙 제1조``) runs in a statute: to the next unit's line."""
    start = text.index("\n부칙") if article.startswith("부칙 ") else 0
    number = article.removeprefix("부칙 ")
    found = re.compile(rf"^{re.escape(number)}(?=[(\s])", re.M).search(text, start)
    if found is None:
        msg = f"{article} not found"
        raise ValueError(msg)
    following = re.compile(r"^(제\s?\d+\s?(조|장|절)|부\s?칙)", re.M).search(text, found.end())
    return found.start(), following.start() if following else len(text)

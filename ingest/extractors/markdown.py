"""Worker task ``markdown``: prose, pipe tables, headings and inline data-URL images.

Markdown keeps its text as written (alt text included); images inlined as ``data:`` URLs become
figures captioned by their alt text (decoded by the parent under the file's image budget), pipe
tables become table segments kept whole, and ATX (``## Title``) and setext (a line underlined
with ``===`` or ``---``) headings are marked as headings, except inside fenced code, where ``#``
starts a comment. Lines are counted against ``ingest.max_units_per_file`` before the walk, so
a file of millions of empty lines costs a count, not a loop of regular expressions per line.
"""

from __future__ import annotations

import re
from typing import Any

from ingest.extractors.answer import answer, rejecting
from ingest.extractors.nearby import Block, PictureGate, squash
from ingest.extractors.text import LINES, decode_text
from ingest.extractors.units import Units

# ![alt](data:image/png;base64,....) : the only Markdown image whose pixels are in the file.
_MD_DATA_IMAGE = re.compile(r"!\[(?P<alt>[^\]]*)\]\((?P<url>data:image/[^)\s]+)\)")
_MD_TABLE_LINE = re.compile(r"^\s*\|.*\|\s*$")
_MD_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_MD_ATX = re.compile(r"^ {0,3}(#{1,6})(?:\s|$)")
_MD_SETEXT = re.compile(r"^ {0,3}(=+|-+)\s*$")
_MD_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_MD_BLOCK_START = re.compile(r"^ {0,3}(?:[-*+>]|\d{1,9}[.)])(?:\s|$)")  # a list item, a quote


@rejecting
def extract(data: bytes, options: dict[str, Any]) -> dict[str, Any]:
    """Markdown: prose blocks, pipe tables as table blocks, inline data-URL images."""
    text = decode_text(data)
    Units(options, "Markdown").add(text.count("\n") + 1, LINES)
    return _Walk(PictureGate(int(options["max_images"]))).run(text)


class _Walk:
    """One pass over the lines, collecting prose until a table breaks it."""

    def __init__(self, pictures: PictureGate) -> None:
        self.pictures = pictures
        self.blocks: list[Block] = []
        self.prose: list[str] = []
        self.headings: list[tuple[int, int]] = []
        self.table: list[str] = []
        self.figures: list[Block] = []

    def run(self, text: str) -> dict[str, Any]:
        fenced = False
        for line in text.split("\n"):
            if _MD_FENCE.match(line):
                fenced = not fenced
            if not fenced and _MD_TABLE_LINE.match(line):
                self.table.append(line)
                continue
            if self.table:
                self._flush_table()
            if not fenced:
                level = _heading_level(line, self.prose, self.headings)
                if level is not None:
                    self.headings.append((len(self.prose) - level[1], level[0]))
            self.prose.append(self._inline_images(line))
        if self.table:
            self._flush_table()
        self._flush_prose()
        return answer(self.blocks, self.pictures.notes)

    def _flush_prose(self) -> None:
        if "".join(self.prose).strip():
            self.blocks.append(Block("text", "\n".join(self.prose), headings=tuple(self.headings)))
        self.prose.clear()
        self.headings.clear()
        self.blocks.extend(self.figures)  # after the prose around them, in reading order
        self.figures.clear()

    def _flush_table(self) -> None:
        rows = [_md_row(line) for line in self.table if not _MD_TABLE_RULE.match(line)]
        if len(self.table) >= 2:
            self._flush_prose()
            self.blocks.append(Block("table", "\n".join(r for r in rows if r)))
        else:
            self.prose.extend(self.table)
        self.table.clear()

    def _inline_images(self, line: str) -> str:
        """Turn data-URL images into figures and leave their alt text in the prose."""

        def replace(match: re.Match[str]) -> str:
            alt = squash(match.group("alt"))
            image = self.pictures.data_url(match.group("url"))
            if image is not None:
                self.figures.append(Block("figure", payload=image, captions=(alt,) if alt else ()))
            return alt

        return _MD_DATA_IMAGE.sub(replace, line)


def _heading_level(
    line: str, prose: list[str], headings: list[tuple[int, int]]
) -> tuple[int, int] | None:
    """``(level, lines back)`` when ``line`` makes a heading, else None.

    An ATX heading is ``line`` itself (0 lines back); a setext underline makes the line above it
    one (1 line back).
    """
    atx = _MD_ATX.match(line)
    if atx is not None:
        return len(atx.group(1)), 0
    setext = _MD_SETEXT.match(line)
    above = prose[-1] if prose else ""
    already = bool(headings) and headings[-1][0] == len(prose) - 1
    paragraph = above.strip() and not _MD_SETEXT.match(above) and not _MD_BLOCK_START.match(above)
    if setext is not None and paragraph and not already:
        return (1 if setext.group(1)[0] == "=" else 2), 1
    return None


def _md_row(line: str) -> str:
    cells = [squash(cell) for cell in line.strip().strip("|").split("|")]
    return " | ".join(cells)

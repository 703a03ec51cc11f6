"""A document's own structure: the heading path above each stretch of its text.

Headings come from two places, used together:

- **the loader**: Markdown ``#`` lines, HTML ``<title>`` and ``h1``-``h6``, Word heading
  styles, Hancom outline levels, slide titles, sheet names (``Segment.headings``);
- **the text itself**: Korean statute units on a line of their own (``제N편``, ``제N장``,
  ``제N절``, ``제N관``, ``부칙``), articles at the start of a line (``제N조``, ``제N조의2``, with
  or without a title in parentheses), and their English counterparts (``Part``, ``Chapter``,
  ``Section``, ``Article``). They nest below every loader heading, so a Markdown file holding a
  statute reads ``법 이름 > 제1장 총칙 > 제1조(목적)``.

A plain text file has no loader headings; when its first line is short and the next line opens
a statute unit, that first line is the document's title.

The result is a sequence of :class:`Section`: a stretch of text that starts with its own heading
line (when it has one), with the path of headings above and including it. Sections are hard
boundaries for the chunker. Inside a section, :func:`unit_rank` says how strong a boundary the
start of a line or sentence is (a clause ``①``, an item ``1.``, a sub-item ``가.`` or ``(1)``, a
bullet), so the chunker can cut between units rather than inside one.

Trade-off: textual headings are recognized by pattern, so a line that merely starts with an
article number could open a false section. The patterns ask for what a heading line looks like
(chapters on a short line of their own; an article number followed by white space and not by a
reference word: ``제5조제1항 중``, ``제5조 및 제6조`` are references), and a false article only
moves a chunk boundary: no text is lost or reordered.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from ingest.loaders.base import Figure, Segment

# Loader headings keep their levels (0 title, 1.. sections); the text's own units sit below
# every one of them, in this order.
_TEXT_LEVEL = 1000
_PART, _CHAPTER, _SECTION, _SUBSECTION, _ARTICLE = range(_TEXT_LEVEL + 1, _TEXT_LEVEL + 6)
_KOREAN_UNITS = {"편": _PART, "장": _CHAPTER, "절": _SECTION, "관": _SUBSECTION}
_ENGLISH_UNITS = {"part": _PART, "chapter": _CHAPTER, "section": _SECTION}

# A heading line of its own (a chapter, a part) is short; an article line may go on with text.
_SHORT_LINE = 60
_TITLE_CHARS = 80  # one heading's label is cut here
_TITLE_LOOKAHEAD = 200  # lines of a plain text looked at to decide whether it has a title

_KOREAN_UNIT = re.compile(r"\s*제\s?\d{1,4}\s?(편|장|절|관)(?=\s|$)")
_KOREAN_ARTICLE = re.compile(
    r"\s*(제\s?\d{1,4}\s?조(?:의\s?\d{1,3})?(?:\s?\([^()\n]{1,40}\))?)(?=\s|$)"
)
# After an article number, these words make the line a reference ("제5조 중 ...을 ...으로
# 한다"), as amendment bills write, not the article itself.
_REFERENCE = re.compile(r"\s+(?:중|및|또는|내지|부터|까지|각|제\s?\d)(?=\s|$|\d)")
_ADDENDA = re.compile(r"\s*부\s?칙(?:\s*[<(\[][^>)\]\n]*[>)\]])?\s*$")
_ENGLISH_UNIT = re.compile(r"\s*(part|chapter|section)\s+([ivxlc]+|\d+(?:\.\d+)*)\b", re.I)
_ENGLISH_ARTICLE = re.compile(r"\s*((?:article|art\.)\s+\d+[a-z]?)\b(\s*\([^()\n]{1,40}\))?", re.I)
_ATX_MARKS = re.compile(r"^\s{0,3}#{1,6}\s+|\s+#+\s*$")

# Unit starts inside a section, strongest first (Korean statutes: 항 ①, 호 1., 목 가.).
CIRCLED = "\u2460-\u2473\u3251-\u325f\u32b1-\u32bf"  # ① .. ⑳, ㉑ .. ㉟, ㊱ .. ㊿
_ITEM = re.compile(r"(?:\d{1,3}[.)]|[-*•·▪◦●○■□◆◇▶►※])\s")
_SUB_ITEM = re.compile(r"(?:[가-하][.)]|\(\d{1,3}\)|\([가-하]\)|\([a-z]\))\s")
_CIRCLED = re.compile(f"[{CIRCLED}]")


@dataclass(frozen=True)
class Section:
    """A stretch of a document under one heading path.

    Attributes:
        path: Headings above the text, outermost first; when ``titled``, the last one is the
            text's own first line.
        text: The words as the loader gave them (a heading line stays in its section).
        page: The page the text is on, when the format has pages.
        kind: ``text`` or ``table`` (one row per line).
        titled: The text starts with its own heading.
        article: That heading is a numbered article (``제N조``, ``Article N``): a unit a
            reader cites on its own, so the chunker never packs it with another.

    """

    path: tuple[str, ...]
    text: str
    page: int | None = None
    kind: Literal["text", "table"] = "text"
    titled: bool = False
    article: bool = False

    @property
    def bare(self) -> bool:
        """Only a heading line: its words live on in the paths of the sections under it."""
        return self.titled and "\n" not in self.text.strip()


def sections(
    blocks: Iterable[Segment | Figure], *, structure: bool = True
) -> Iterator[Section | Figure]:
    """The document's sections in reading order, figures passed through where they are.

    A heading with nothing but sections under it (a title, a chapter line) is not a section of
    its own: its words are in the path of every section below it. Without ``structure``, each
    segment is one section without a path.
    """
    if not structure:
        for block in blocks:
            yield (
                block
                if isinstance(block, Figure)
                else Section((), block.text, block.page, block.kind)
            )
        return
    outline = _Outline()
    held: Section | None = None
    for index, block in enumerate(blocks):
        if isinstance(block, Figure):
            yield block
            continue
        for section in outline.split(block, first=index == 0):
            if held is not None and section.path[: len(held.path)] != held.path:
                yield held
            held = None
            if section.bare:
                held = section
            else:
                yield section
    if held is not None:
        yield held


def unit_rank(text: str, start: int) -> int:
    """How strongly a unit starts at ``text[start]``: 0 inside a line .. 4 at a clause (``①``)."""
    if _CIRCLED.match(text, start):
        return 4
    before = text[max(0, start - 64) : start].rstrip(" \t")
    if before and not before.endswith("\n"):
        return 0
    if _ITEM.match(text, start):
        return 3
    if _SUB_ITEM.match(text, start):
        return 2
    return 1


class _Outline:
    """The heading path as a document's segments go by."""

    def __init__(self) -> None:
        self.stack: list[tuple[int, str]] = []  # (level, title), outermost first

    def path(self) -> tuple[str, ...]:
        return tuple(title for _, title in self.stack)

    def enter(self, level: int, title: str) -> None:
        while self.stack and self.stack[-1][0] >= level:
            self.stack.pop()
        self.stack.append((level, title))

    def split(self, segment: Segment, *, first: bool) -> Iterator[Section]:
        """``segment`` cut at its heading lines, each part with the path it sits under."""
        if segment.kind == "table":
            if segment.text.strip():
                yield Section(self.path(), segment.text, segment.page, "table")
            return
        marks = {h.line: h.level for h in segment.headings}
        lines = segment.text.split("\n")
        if first and not marks:
            title = _plain_title(lines)
            if title is not None:
                marks[title] = 0
        start, titled, article = 0, False, False
        offset = 0
        for number, line in enumerate(lines):
            heading = _loader_heading(line, marks[number]) if number in marks else None
            if heading is None:
                heading = _text_heading(line)
            if heading is not None:
                if segment.text[start:offset].strip():
                    text = segment.text[start:offset]
                    yield Section(self.path(), text, segment.page, "text", titled, article)
                self.enter(*heading)
                start, titled, article = offset, True, heading[0] == _ARTICLE
            offset += len(line) + 1
        if segment.text[start:].strip():
            text = segment.text[start:]
            yield Section(self.path(), text, segment.page, "text", titled, article)


def _loader_heading(line: str, level: int) -> tuple[int, str] | None:
    title = _clip(_ATX_MARKS.sub("", line))
    return (level, title) if title else None


def _text_heading(line: str) -> tuple[int, str] | None:
    """A statute unit or article that ``line`` opens, as (level, title)."""
    first = line.lstrip()[:1]
    if first == "제":
        short = len(line.strip()) <= _SHORT_LINE
        unit = _KOREAN_UNIT.match(line)
        if unit is not None and short:
            return _KOREAN_UNITS[unit.group(1)], _clip(line)
        article = _KOREAN_ARTICLE.match(line)
        if article is not None and not _REFERENCE.match(line, article.end()):
            return _ARTICLE, _clip(article.group(1))
    elif first == "부":
        if _ADDENDA.match(line):
            return _CHAPTER, _clip(line)
    elif first in "PpCcSsAa":
        short = len(line.strip()) <= _SHORT_LINE
        unit = _ENGLISH_UNIT.match(line)
        if unit is not None and short:
            return _ENGLISH_UNITS[unit.group(1).lower()], _clip(line)
        article = _ENGLISH_ARTICLE.match(line)
        if article is not None and (short or article.group(2)):
            return _ARTICLE, _clip(article.group(0))
    return None


def _plain_title(lines: list[str]) -> int | None:
    """The first line of a plain text, when it is its title.

    That is a short line without a sentence end, right above a statute unit, or set apart by a
    blank line in a text that has units.
    """
    filled = [i for i, line in enumerate(lines[:_TITLE_LOOKAHEAD]) if line.strip()]
    if len(filled) < 2:
        return None
    first = filled[0]
    title = lines[first].strip()
    if len(title) > _SHORT_LINE or title[-1] in ".!?:;," or _text_heading(title) is not None:
        return None
    if _text_heading(lines[filled[1]]) is not None:
        return first
    apart = filled[1] > first + 1
    has_units = any(_text_heading(lines[i]) is not None for i in filled[1:])
    return first if apart and has_units else None


def _clip(text: str) -> str:
    return " ".join(text.split())[:_TITLE_CHARS]

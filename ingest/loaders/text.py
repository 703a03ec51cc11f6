"""Plain text and Markdown in UTF-8, UTF-16, CP949 or EUC-KR.

Korean files from older Windows tools are often CP949 (a superset of EUC-KR) with no marker, so
the encoding has to be inferred. UTF-8 is tried first because a strict UTF-8 decode almost never
succeeds on anything else; byte-order marks settle UTF-16/32; only then is
``charset-normalizer`` asked to choose among the legacy Korean encodings and BOM-less UTF-16.
The candidates are deliberately few: allowing Latin-1 would "decode" any byte soup, and a
wrong guess would index mojibake that no query ever matches.

Markdown keeps its text as written (alt text included); images inlined as ``data:`` URLs become
figures captioned by their alt text, pipe tables become table segments kept whole, and ATX
(``## Title``) and setext (a line underlined with ``===`` or ``---``) headings are marked as
headings, except inside fenced code, where ``#`` starts a comment.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from charset_normalizer import from_bytes

from ingest.file_limits import Limits
from ingest.loaders.base import Figure, Heading, Loaded, Segment, squash
from ingest.loaders.image import ImageBudget, figure_from_data_url
from rag.errors import IngestError, Message

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16: FF FE 00 00 starts with FF FE
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_LEGACY = ["cp949", "euc_kr", "utf_16_le", "utf_16_be"]
# Hangul syllables and jamo, CJK symbols, full-width forms, general punctuation (quotes, dots).
_KOREAN = re.compile(
    r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f\u3000-\u303f\uff00-\uffef\u00b7\u2010-\u2027]"
)

# ![alt](data:image/png;base64,....) : the only Markdown image whose pixels are in the file.
_MD_DATA_IMAGE = re.compile(r"!\[(?P<alt>[^\]]*)\]\((?P<url>data:image/[^)\s]+)\)")
_MD_TABLE_LINE = re.compile(r"^\s*\|.*\|\s*$")
_MD_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_MD_ATX = re.compile(r"^ {0,3}(#{1,6})(?:\s|$)")
_MD_SETEXT = re.compile(r"^ {0,3}(=+|-+)\s*$")
_MD_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_MD_BLOCK_START = re.compile(r"^ {0,3}(?:[-*+>]|\d{1,9}[.)])(?:\s|$)")  # a list item, a quote


def decode_text(data: bytes) -> str:
    """Decode text bytes, detecting the encoding; any line break style becomes one newline.

    Raises:
        IngestError: Unknown encoding, binary content or no text at all.

    """
    text = _decode(data)
    if "\x00" in text:
        raise IngestError.because("contains NUL bytes: binary data, not text")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise IngestError.because("no text in file")
    return text


def _decode(data: bytes) -> str:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as error:
                template = "broken {encoding} text (invalid bytes at offset {offset})"
                raise IngestError.because(template, encoding=encoding, offset=error.start) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    best = from_bytes(data, cp_isolation=_LEGACY).best()
    text = str(best) if best is not None else ""
    if not _looks_korean_or_ascii(text):
        raise IngestError.because("unknown text encoding (not UTF-8, UTF-16, CP949 or EUC-KR)")
    return text


def _looks_korean_or_ascii(text: str) -> bool:
    """A legacy decode must mostly give Hangul or ASCII; anything else was a wrong guess."""
    if not text:
        return False
    sample = text[:100_000]
    plausible = sum(1 for c in sample if c.isascii() or _KOREAN.match(c))
    return plausible >= 0.8 * len(sample)


def load_text(path: Path, data: bytes, limits: Limits) -> Loaded:
    """A plain text file: one segment."""
    return Loaded([Segment(decode_text(data))])


def load_markdown(path: Path, data: bytes, limits: Limits) -> Loaded:
    """Markdown: prose segments, pipe tables as table segments, inline data-URL images."""
    loaded = Loaded()
    prose: list[str] = []
    headings: list[Heading] = []
    table: list[str] = []
    figures: list[Figure] = []
    budget = ImageBudget(limits)
    fenced = False

    def flush_prose() -> None:
        if "".join(prose).strip():
            loaded.blocks.append(Segment("\n".join(prose), headings=tuple(headings)))
        prose.clear()
        headings.clear()
        loaded.blocks.extend(figures)  # after the prose around them, in reading order
        figures.clear()

    def flush_table() -> None:
        rows = [_md_row(line) for line in table if not _MD_TABLE_RULE.match(line)]
        if len(table) >= 2:
            flush_prose()
            loaded.blocks.append(Segment("\n".join(r for r in rows if r), kind="table"))
        else:
            prose.extend(table)
        table.clear()

    for line in decode_text(data).split("\n"):
        if _MD_FENCE.match(line):
            fenced = not fenced
        if not fenced and _MD_TABLE_LINE.match(line):
            table.append(line)
            continue
        if table:
            flush_table()
        if not fenced:
            level = _heading_level(line, prose, headings)
            if level is not None:
                headings.append(Heading(len(prose) - (level[1]), level[0]))
        prose.append(_inline_images(line, figures, loaded.notes, budget))
    if table:
        flush_table()
    flush_prose()
    return loaded


def _heading_level(line: str, prose: list[str], headings: list[Heading]) -> tuple[int, int] | None:
    """``(level, lines back)`` when ``line`` makes a heading, else None.

    An ATX heading is ``line`` itself (0 lines back); a setext underline makes the line above it
    one (1 line back).
    """
    atx = _MD_ATX.match(line)
    if atx is not None:
        return len(atx.group(1)), 0
    setext = _MD_SETEXT.match(line)
    above = prose[-1] if prose else ""
    already = bool(headings) and headings[-1].line == len(prose) - 1
    paragraph = above.strip() and not _MD_SETEXT.match(above) and not _MD_BLOCK_START.match(above)
    if setext is not None and paragraph and not already:
        return (1 if setext.group(1)[0] == "=" else 2), 1
    return None


def _md_row(line: str) -> str:
    cells = [squash(cell) for cell in line.strip().strip("|").split("|")]
    return " | ".join(cells)


def _inline_images(
    line: str, figures: list[Figure], notes: list[Message], budget: ImageBudget
) -> str:
    """Turn data-URL images into figures and leave their alt text in the prose."""

    def replace(match: re.Match[str]) -> str:
        alt = squash(match.group("alt"))
        figure = figure_from_data_url(match.group("url"), (alt,) if alt else (), budget)
        if isinstance(figure, Figure):
            figures.append(figure)
        else:
            notes.append(figure)
        return alt

    return _MD_DATA_IMAGE.sub(replace, line)

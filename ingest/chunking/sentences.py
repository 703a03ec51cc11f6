"""Rough sentences: where a section's text may be cut, in Korean and English alike.

Punctuation and line breaks end a sentence, with guards for "Dr.", "U.S." and list numbers; a
clause number (``②``) starts a piece wherever it stands when the chunker follows structure.
Korean that ends sentences without punctuation is split by Kiwi (:func:`korean_sentences`),
but only when it is spaced prose (:func:`is_spaced_korean`): Kiwi reads tens of kilobytes a
second, and a spaceless blob of data is cut by characters instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ingest.chunking.outline import CIRCLED
from rag.text.kiwi import kiwi

# A sentence ends at terminal punctuation (closing quotes and brackets included) before white
# space, or at a line break.
_END = re.compile(r"[.!?。！？…]+[\"'”’)\]」』]*(?=\s)|\n")  # noqa: RUF001 (CJK punctuation)
# With structure, a clause number (①) starts a new piece wherever it stands.
_END_OR_CLAUSE = re.compile(f"{_END.pattern}|(?<=\\s)(?=[{CIRCLED}])")
_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_LAST_WORD = re.compile(r"\S*$")
_INITIALS = re.compile(r"(?:[A-Za-z]\.)*[A-Za-z]")
# Words whose period does not end a sentence (lower case, without the final period).
_ABBREVIATIONS = frozenset({
    "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs", "e.g", "i.e", "fig", "figs", "no",
    "nos", "vol", "pp", "cf", "approx", "inc", "ltd", "co", "corp", "dept", "jan", "feb", "mar",
    "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
})  # fmt: skip
# Korean prose puts a space at least every this many characters; text that does not is data,
# and Kiwi (tens of kilobytes a second) is not run on it.
MAX_WORD_CHARS = 40


def rough_sentences(text: str, max_chars: int, *, units: bool) -> Iterator[tuple[int, int, bool]]:
    """Rough sentences ``(start, end, exact)``, trimmed of white space, none over ``max_chars``.

    ``exact`` is False for a piece cut inside a word (a giant piece without spaces); with
    ``units``, a clause number (``②``) inside a line starts a piece too.
    """
    start = 0
    for match in (_END_OR_CLAUSE if units else _END).finditer(text):
        if match.group() == "\n" or not match.group():
            end = match.start()
        elif _ends_sentence(text, match):
            end = match.end()
        else:
            continue
        yield from _trimmed(text, start, end, max_chars)
        start = end
    yield from _trimmed(text, start, len(text), max_chars)


def _ends_sentence(text: str, match: re.Match[str]) -> bool:
    """False for a period after an abbreviation, initials, a list number or before lower case."""
    if match.group() != ".":
        return True
    found = _LAST_WORD.search(text, max(0, match.start() - 40), match.start())
    word = found.group().lstrip("([\"'") if found else ""
    if word.lower() in _ABBREVIATIONS or _INITIALS.fullmatch(word):
        return False
    word_start = match.start() - len(word)
    if word.isdigit() and len(word) <= 2 and (word_start == 0 or text[word_start - 1] == "\n"):
        return False  # "1. 개요" at the start of a line numbers an item
    following = text[match.end() : match.end() + 3].lstrip(" \t")
    return not (following[:1].isascii() and following[:1].islower())


def is_spaced_korean(text: str, start: int, end: int) -> bool:
    """Hangul written with word spacing: prose Kiwi can split (a spaceless blob is not)."""
    return bool(_HANGUL.search(text, start, end)) and (
        text.count(" ", start, end) * MAX_WORD_CHARS >= end - start
    )


def _trimmed(text: str, start: int, end: int, max_chars: int) -> Iterator[tuple[int, int, bool]]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    exact = True  # the piece starts after white space (or at a sentence end)
    while end - start > max_chars:
        # Cut a giant piece at the last space in its second half, or hard at the limit.
        cut = text.rfind(" ", start + max_chars // 2, start + max_chars)
        hard = cut <= start
        cut = start + max_chars if hard else cut
        yield start, cut, exact and not hard
        exact = not hard
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if end > start:
        yield start, end, exact


def korean_sentences(texts: list[str]) -> list[list[tuple[int, int]]]:
    """Kiwi's sentence boundaries ``(start, end)`` within each text."""
    with kiwi() as analyzer:
        results = analyzer.split_into_sents(texts)
        return [[(s.start, s.end) for s in sentences] for sentences in results]

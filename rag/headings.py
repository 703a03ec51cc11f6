"""A chunk's heading path, kept in its stored text (the store has no column for it yet).

A chunk cut from a structured document starts with the line of its heading path
(``대한민국헌법 > 제3장 국회 > 제42조``), and that line is embedded and keyword-indexed with the
passage, because a passage such as "② 그 임기는 4년으로 한다" does not say what it is about. In
the store such a text is marked by a leading U+001E (RECORD SEPARATOR): no loader produces that
control character at the start of a passage (:func:`mark` removes one there), so the path is
found again exactly, without guessing from the words, and tokenizers and the keyword analyzer
skip it. Retrieval splits it off (:func:`split`): the path goes to ``metadata["heading"]`` and
the prompt's source label, the passage to ``page_content``.

The trade-off is that anything reading raw stored text sees the path line too (the reranker
does, which helps it). When the store gains a heading column, only this module changes.
"""

from __future__ import annotations

MARK = "\x1e"


def mark(text: str, *, headed: bool) -> str:
    """The stored form of a chunk's text; ``headed`` when its first line is its heading path."""
    text = text.lstrip(MARK)
    return f"{MARK}{text}" if headed else text


def split(stored: str) -> tuple[str, str]:
    """``(heading path, passage)`` of a stored chunk text; the path is empty when it has none."""
    if not stored.startswith(MARK):
        return "", stored
    heading, _, passage = stored[len(MARK) :].partition("\n")
    return heading, passage


def unmark(stored: str) -> str:
    """The text as it was embedded: the heading path's line (if any), then the passage."""
    return stored.removeprefix(MARK)

"""A chunk's heading path, kept in its stored text (the store has no column for it yet).

A chunk cut from a structured document has a heading path (``대한민국헌법 > 제3장 국회 >
제42조``). In the store, its text is the path's line marked by a leading U+001E (RECORD
SEPARATOR), then the passage: no loader produces that control character at the start of a
passage (:func:`compose` removes one there), so the path is found again exactly, without
guessing from the words, and tokenizers and the keyword analyzer skip the mark. Retrieval splits
it off (:func:`split`): the path goes to ``metadata["heading"]`` and the prompt's source label,
the passage to ``page_content``.

The trade-off: anything reading raw stored text sees the path line too (the keyword index and
the reranker do, which helps them find a passage by its section's name). When the store gains
a heading column, only this module changes.
"""

from __future__ import annotations

MARK = "\x1e"


def compose(heading: str, passage: str) -> str:
    """The stored text of a chunk: the marked heading path's line (if any), then the passage."""
    passage = passage.lstrip(MARK)
    return f"{MARK}{heading}\n{passage}" if heading else passage


def split(stored: str) -> tuple[str, str]:
    """``(heading path, passage)`` of a stored chunk text; the path is empty when it has none."""
    if not stored.startswith(MARK):
        return "", stored
    heading, _, passage = stored[len(MARK) :].partition("\n")
    return heading, passage

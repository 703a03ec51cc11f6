"""The marked form a chunk's heading path had inside its text, which is still its identity.

A chunk cut from a structured document has a heading path (``대한민국헌법 > 제3장 국회 >
제42조``). The store keeps it in a column of its own; earlier releases kept it inside the text,
as the path's line marked by a leading U+001E (RECORD SEPARATOR), then the passage. That form
lives on in two places: a chunk's id and its vector are keyed by it (:func:`compose`, so a store
upgraded from then re-ingests an unchanged file without embedding anything again), and the
migrations that moved the path into its column find it again exactly (:func:`split`). No loader
produces that control character at the start of a passage (:func:`compose` removes one there).
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

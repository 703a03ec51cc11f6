r"""How values are written for people: counts with their noun, untrusted names made inert.

File names come from whoever wrote the files, so a name may carry ESC sequences (recolor or
clear a terminal), BEL, line breaks (a fake extra row in a table, or a line that looks like
another numbered source in a prompt label) or bidirectional overrides (``txt.exe`` shown as
``exe.txt``). The terminal and the prompt use the same rule: :func:`printable` writes every
such character as its Python escape (``\x1b``, ``\n``, ``\u202e``) and leaves everything else,
Korean included, as it is, so the name stays readable and shows what it really contains. Lone
surrogates (undecodable bytes in a file name) are escaped too, since no terminal can print them.
"""

from __future__ import annotations

import unicodedata

# Controls (C0, DEL, C1), format characters (bidi overrides and isolates, zero-width marks),
# line and paragraph separators, and lone surrogates.
_UNPRINTABLE = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


def printable(text: str, keep: str = "") -> str:
    r"""``text`` with every control, format and separator character written as an escape.

    Args:
        text: Untrusted text (a file name, a passage, a generated answer).
        keep: Characters to leave as they are (``"\n"`` for multi-line text).

    """
    if text.isprintable():  # the common case; it is False for every character escaped here
        return text
    return "".join(
        char.encode("unicode_escape").decode("ascii")
        if unicodedata.category(char) in _UNPRINTABLE and char not in keep
        else char
        for char in text
    )


def plural(count: int, noun: str, plural_noun: str | None = None) -> str:
    """``1 chunk``, ``2 chunks`` (``plural_noun`` for irregular nouns)."""
    return f"{count} {noun if count == 1 else plural_noun or noun + 's'}"

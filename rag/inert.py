r"""Text from files shown where its characters could act: prompts and terminals.

A file name is chosen by whoever wrote the file. Inside a prompt label a newline in it starts a
line that looks like another numbered source (``[9] (fake.md)``); on a terminal ESC starts a
control sequence and BEL rings; anywhere, a bidi override (U+202E) makes ``gnp.exe`` read as
``exe.png``. :func:`escape_controls` writes each such character as a visible escape (``\n``,
``\x1b``, ``\u202e``), so the text stays on one line, means what it shows, and the original can
still be read off it. Ordinary text, Hangul and emoji included, passes unchanged; backslashes are
left alone because Windows paths are full of them.
"""

from __future__ import annotations

import re

# C0 and C1 controls (tab and newline included), DEL, line and paragraph separators, and the
# bidi marks, embeddings, overrides and isolates.
_ACTIVE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_controls(text: str) -> str:
    """``text`` with every control, separator and bidi character written as a visible escape."""
    return _ACTIVE.sub(lambda match: _escape(match.group()), text)


def _escape(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

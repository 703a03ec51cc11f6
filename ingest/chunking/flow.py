"""The stream of one :meth:`~ingest.chunking.chunker.TokenChunker.chunk_documents` call.

Pieces of consecutive text sections gather in a group until it holds :data:`GROUP_CHARS`; the
group is then measured in one tokenizer call and every section it completes is packed and
emitted, items between sections (figures) in their place, and small sibling sections together
when they are on the same page (a chunk's page is the one it cites: three short slides are
three chunks, each on its own slide).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Generic, TypeVar

from ingest.chunking.outline import Section
from ingest.chunking.sentences import rough_sentences
from ingest.chunking.spans import OpenSection, Piece, Span, TextChunk

if TYPE_CHECKING:
    from ingest.chunking.chunker import TokenChunker

T = TypeVar("T")
GROUP_CHARS = 64 * 1024  # text tokenized per call
# Sibling sections this small (a fraction of the budget) are packed into one chunk.
SMALL_SECTION = 0.25


class ChunkFlow(Generic[T]):
    """The stream of one :meth:`TokenChunker.chunk_documents` call.

    Pieces of consecutive text sections gather in a group until it holds ``GROUP_CHARS``;
    the group is then measured in one tokenizer call and every section it completes is packed
    and emitted. Items between sections (figures) wait in ``entries`` so they come out in
    their place. A section small enough to share a chunk with its next sibling waits in
    ``siblings``.
    """

    def __init__(self, chunker: TokenChunker) -> None:
        self.chunker = chunker
        self.group: list[Piece] = []
        self.chars = 0
        self.entries: list[OpenSection | tuple[int, T]] = []
        self.siblings: list[tuple[OpenSection, list[Span]]] = []

    def add(self, document: int, section: Section) -> Iterator[tuple[int, TextChunk | T]]:
        """Take in a text section; out come the chunks its arrival completes."""
        chunker = self.chunker
        state = OpenSection(
            section,
            document,
            chunker.prefix_line(section_context(section, continued=False)),
            chunker.prefix_line(section_context(section, continued=True)),
        )
        self.entries.append(state)
        pieces = rough_sentences(section.text, chunker.max_piece_chars, units=chunker.structure)
        for start, end, exact in pieces:
            self.group.append(Piece(state, start, end, exact))
            self.chars += end - start
            if self.chars >= GROUP_CHARS:
                yield from self._emit(final=False)
        state.measuring = False

    def pass_through(self, document: int, item: T) -> Iterator[tuple[int, TextChunk | T]]:
        """Take in an item that is not text (a figure); it comes out in its place."""
        if self.entries:
            self.entries.append((document, item))
            return
        yield from self._siblings()
        yield document, item

    def finish(self) -> Iterator[tuple[int, TextChunk | T]]:
        """Everything still waiting (a table or the end of the documents comes next)."""
        yield from self._emit(final=True)
        yield from self._siblings()

    def _emit(self, *, final: bool) -> Iterator[tuple[int, TextChunk | T]]:
        if self.group:
            self.chunker.measure(self.group)
            self.group, self.chars = [], 0
        chunker = self.chunker
        entries, self.entries = self.entries, []
        for entry in entries:
            if not isinstance(entry, OpenSection):
                yield from self._siblings()
                yield entry
                continue
            done = final or not entry.measuring
            chunks = list(chunker.pack(entry, final=done))
            if done:
                yield from self._section(entry, chunks)
            else:  # the section goes on in the next group: what is complete goes out now
                yield from self._siblings()
                yield from ((entry.document, chunker.compose([(entry, s)])) for s in chunks)
                self.entries.append(entry)

    def _section(
        self, state: OpenSection, chunks: list[list[Span]]
    ) -> Iterator[tuple[int, TextChunk]]:
        """A finished section's chunks; a small one waits for siblings to share a chunk."""
        chunker = self.chunker
        small = (
            chunker.structure
            and not state.section.article
            and len(chunks) == 1
            and bool(state.section.path)
            and sum(s.tokens for s in chunks[0]) <= chunker.chunk_tokens * SMALL_SECTION
        )
        if not (small and self._joins(state, chunks[0])):
            yield from self._siblings()
        if small:
            self.siblings.append((state, chunks[0]))
            return
        yield from ((state.document, chunker.compose([(state, s)])) for s in chunks)

    def _joins(self, state: OpenSection, spans: list[Span]) -> bool:
        if not self.siblings:
            return False
        first = self.siblings[0][0]
        parent = state.section.path[:-1]
        if first.document != state.document or first.section.path[:-1] != parent:
            return False
        if first.section.page != state.section.page:
            return False  # a chunk cites one page (one slide): two never share it
        used = sum(s.tokens for _, chosen in self.siblings for s in chosen)
        used += sum(s.tokens for s in spans)
        return used + self.chunker.prefix_line(parent).tokens <= self.chunker.chunk_tokens

    def _siblings(self) -> Iterator[tuple[int, TextChunk]]:
        if not self.siblings:
            return
        parts, self.siblings = self.siblings, []
        path = parts[0][0].section.path if len(parts) == 1 else parts[0][0].section.path[:-1]
        yield parts[0][0].document, self.chunker.compose(parts, path)


def section_context(section: Section, *, continued: bool) -> tuple[str, ...]:
    """The headings a chunk of ``section`` starts with.

    That is its path, less its own heading in the first chunk, whose passage opens with it.
    """
    return section.path[:-1] if section.titled and not continued else section.path

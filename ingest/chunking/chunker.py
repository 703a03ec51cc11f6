"""Token-sized chunks cut at the document's own units, for Korean and English alike.

Chunks are measured with the embedder's own tokenizer, because a character budget means very
different amounts of text in Hangul and in Latin script. The input is a document's sections
(:mod:`ingest.chunking.outline`): stretches of text under one heading path. A chunk never spans two
sections, except that small sibling sections (two short paragraphs of one chapter) are packed
together; numbered articles (``제N조``, ``Article N``) never are, however short: an article is
what a question is about and what an answer cites, and a chunk of five one-sentence articles has
a vector that is none of them (on the statute sets of ``benchmarks/structured.py`` packing cost
English recall@1 .632 -> .474 on the legal dev questions). Inside a section, text is cut into
rough sentences by punctuation and line breaks (with guards for "Dr.", "U.S." and list numbers),
and sentences are packed greedily up to the budget; when a chunk is full, it is cut at the
strongest unit boundary in its second half (a clause ``②``, an item ``1.``, a bullet) instead of
after the last sentence that fits, so a clause stays whole when it can. Cut inside a unit,
consecutive chunks share trailing sentences up to the overlap budget; cut between units, they do
not. Chunks are slices of the original text, so line breaks and spacing survive.

Each chunk carries its heading path, and its text starts with it (``법 > 제3장 국회`` on the
first line): the embedder and the keyword index see which document and section a passage is
from, which a passage like "② 그 임기는 4년으로 한다" does not say itself. The line leaves out
the section's own heading only where the passage opens with it (a section's first chunk); a
later chunk of a long article names the article (``법 > 제3장 국회 > 제42조``), because its
passage starts at a clause. The path counts against the budget, and is cut from the front when
it would take more than a quarter of it.

Korean often ends sentences without punctuation ("...했어요 그리고 ..."), which leaves a
run-on piece that punctuation cannot split. Such a piece is handed to Kiwi (kiwipiepy), whose
morphological analysis finds endings like "-요" and "-다". Kiwi only sees pieces that contain
Hangul and are longer than a whole chunk, because a piece that fits is never cut anyway. A
piece still over budget is cut at token boundaries.

Cost: the tokenizer's per-call and per-string overheads can dwarf its per-character cost, so
sentences are never tokenized one by one. Pieces of many sections, of many documents when
they are small, are joined into groups of about 64 KB, each tokenized in one call, and each
sentence is measured by the token offsets. The token ids come along: a chunk whose edges fall
on white space gets the ids of its text, equal to what the tokenizer would give for the text
alone when the tokenizer splits words at white space (checked once per tokenizer), so the
embedder need not tokenize it again. Work stays linear in characters on hostile input: pieces
are capped in characters before any tokenizer or Kiwi call, text is processed lazily, so a
caller can stop after enough chunks, and a group of text seen just before (a file of one
repeated character or phrase) is not tokenized again.

Tables are kept whole when they fit; a larger table is split between rows, each part repeating
the header row so it still reads as a table.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Generic, TypeVar

from ingest.chunking.outline import CIRCLED, Section, unit_rank
from rag.text.kiwi import kiwi

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

T = TypeVar("T")

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
_GROUP_CHARS = 64 * 1024  # text tokenized per call
_SEPARATOR = " "  # between the pieces of a group
_LONG_PIECE = 1024  # a piece this long is tokenized alone, and its tokens are cached
_CACHED_TEXTS = 16  # recent long pieces and groups whose tokens are kept
# Korean prose puts a space at least every this many characters; text that does not is data,
# and Kiwi (tens of kilobytes a second) is not run on it.
_MAX_WORD_CHARS = 40
# A cut between units is taken only if the chunk before it is at least this full.
_MIN_FILL = 0.5
# The strength from which a boundary is between units (an item ``1.`` or stronger).
_UNIT = 2
# Sibling sections this small (a fraction of the budget) are packed into one chunk.
_SMALL_SECTION = 0.25
# The heading path may take this share of a chunk's budget; beyond it, it is cut from the front.
_PATH_SHARE = 0.25
PATH_SEPARATOR = " > "
# Probes for whether tokens of a text equal the tokens of its words (see _separable).
_PROBES = ("제1조(목적) 이 법은", "U.S. office.\n1. 개요", "① 국회는 (가) 항목", "hello  world")


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
class _Span:
    start: int
    end: int
    tokens: int
    alone: bool = False  # a window cut from an over-long sentence: emitted as its own chunk
    rank: int = 0  # how strong a unit boundary is before it (outline.unit_rank)
    ids: tuple[int, ...] | None = None  # None: not equal to a fresh tokenization


class _Tokens:
    """Token offsets (and ids) of a stretch of text, so any sub-span is measured by bisection.

    Tokenizing a whole group of sentences in one call, instead of each sentence, costs one
    normalizer pass instead of thousands (a sentencepiece normalizer can cost milliseconds per
    call whatever the length).
    """

    def __init__(self, offsets: list[tuple[int, int]], ids: list[int]) -> None:
        # Compact arrays: a 64 KB group has tens of thousands of tokens, and some are cached.
        self.starts = array("l", (a for a, _ in offsets))
        self.ends = array("l", (b for _, b in offsets))
        self.ids = array("l", ids)

    def count(self, start: int, end: int) -> int:
        return bisect_left(self.starts, end) - bisect_left(self.starts, start)

    def slice(self, start: int, end: int) -> tuple[int, ...]:
        return tuple(self.ids[bisect_left(self.starts, start) : bisect_left(self.starts, end)])

    def windows(self, start: int, end: int, size: int, overlap: int) -> list[tuple[int, int, int]]:
        """Windows ``(start, end, tokens)`` of ``size`` tokens over ``[start, end)``."""
        first, stop = bisect_left(self.starts, start), bisect_left(self.starts, end)
        spans = []
        for i in range(first, stop, size - overlap):
            last = min(i + size, stop)
            spans.append((self.starts[i], min(self.ends[last - 1], end), last - i))
            if last >= stop:
                break
        return spans


@dataclass(frozen=True)
class _Prefix:
    """A heading path's line as it starts a chunk: its text, ids (None: not exact) and tokens."""

    line: str = ""
    ids: tuple[int, ...] | None = ()
    tokens: int = 0


@dataclass
class _Open:
    """A section being chunked: its measured spans not yet packed into emitted chunks."""

    section: Section
    document: int
    prefix: _Prefix  # the line of the section's first chunk
    continued: _Prefix  # the line of its later chunks (they do not open with its heading)
    pending: list[_Span] = field(default_factory=list)
    measuring: bool = True  # pieces of it are still to come

    @property
    def reserve(self) -> int:
        """Tokens of the budget kept for the longer of its chunks' lines."""
        return max(self.prefix.tokens, self.continued.tokens)

    def opens(self, span: _Span) -> bool:
        """Whether ``span`` is where the section's text starts (with its heading, if any)."""
        text = self.section.text
        return span.start <= len(text) - len(text.lstrip())


@dataclass(frozen=True)
class _Piece:
    """A rough sentence of an open section, waiting to be measured."""

    state: _Open
    start: int
    end: int
    exact: bool  # starts and ends at white space or the text's edges


class TokenChunker:
    """Split documents into chunks of at most ``chunk_tokens`` tokens along their structure.

    Args:
        tokenizer: A fast (Rust) Hugging Face tokenizer, normally the embedder's.
        chunk_tokens: Maximum tokens per chunk, heading path included.
        overlap_tokens: Tokens of trailing context repeated at the start of the next chunk of
            the same unit.
        structure: Cut between the units of a section and start each chunk with its heading
            path; False packs sentences as plain prose (the chunker before structure).

    """

    def __init__(
        self,
        tokenizer: PreTrainedTokenizerBase,
        chunk_tokens: int,
        overlap_tokens: int,
        *,
        structure: bool = True,
    ) -> None:
        if not 0 <= overlap_tokens < chunk_tokens:
            msg = f"chunk_overlap ({overlap_tokens}) must be below chunk_tokens ({chunk_tokens})"
            raise ValueError(msg)
        self.tokenizer = tokenizer
        self.chunk_tokens = chunk_tokens
        self.overlap_tokens = overlap_tokens
        self.structure = structure
        # Long enough that only a piece far over budget is cut by characters.
        self.max_piece_chars = max(4096, 16 * chunk_tokens)
        self.exact_ids = _separable(tokenizer)
        self._cache: OrderedDict[str, _Tokens] = OrderedDict()  # recent long texts' tokens
        self._bounds: OrderedDict[str, list[tuple[int, int]]] = OrderedDict()  # Kiwi's, likewise
        self._prefixes: dict[tuple[str, ...], _Prefix] = {}

    # --- plain text, tables, captions ---------------------------------------------------------

    def split(self, text: str) -> list[TextChunk]:
        """Chunks of ``text`` in reading order; empty when the text is blank."""
        return list(self.iter_chunks(text))

    def iter_chunks(self, text: str) -> Iterator[TextChunk]:
        """Chunks of ``text`` (one section without headings) in reading order, lazily."""
        for _, chunk in self.chunk_documents([[Section((), text)]]):
            yield chunk

    def split_table(self, text: str, path: tuple[str, ...] = ()) -> list[TextChunk]:
        """A table (one row per line) whole if it fits, else row groups under its header.

        Each chunk starts with the heading path's line, when there is a path.
        """
        rows = [row for row in text.split("\n") if row.strip()]
        if not rows:
            return []
        prefix = self._prefix(path)
        budget = self.chunk_tokens - prefix.tokens
        joined = "\n".join(rows)
        tokens = self._tokens(joined)
        counts, position = [], 0
        for row in rows:
            counts.append(tokens.count(max(position - 1, 0), position + len(row)))
            position += len(row) + 1
        if sum(counts) <= budget:
            return [_with_prefix(prefix, joined, sum(counts), path)]
        repeat = counts[0] <= budget // 4
        header = [rows[0]] if repeat else []
        room = budget - (counts[0] if repeat else 0)
        chunks: list[TextChunk] = []
        current: list[str] = []
        used = 0

        def flush() -> None:
            nonlocal used
            if current:
                size = used + (counts[0] if repeat else 0)
                chunks.append(_with_prefix(prefix, "\n".join(header + current), size, path))
                current.clear()
                used = 0

        start = 1 if repeat else 0
        for row, count in zip(rows[start:], counts[start:], strict=True):
            if count > room:
                flush()
                chunks.extend(replace(c, path=path) for c in self._window_chunks(row))
                continue
            if used + count > room:
                flush()
            current.append(row)
            used += count
        flush()
        return chunks

    def truncate(self, text: str) -> TextChunk:
        """``text`` cut to the budget at a token boundary (for captions)."""
        return self._window_chunks(text.strip())[0]

    # --- documents ----------------------------------------------------------------------------

    def chunk_documents(
        self, documents: Iterable[Iterable[Section | T]]
    ) -> Iterator[tuple[int, TextChunk | T]]:
        """Chunks of many documents as ``(document index, chunk)``, each in reading order.

        Items that are not sections (figures) are passed through in their place. Small
        documents share tokenizer calls; a large one is chunked lazily, so a caller can stop
        after enough chunks. A chunk never holds text of two documents.
        """
        flow: _Flow[T] = _Flow(self)
        for number, document in enumerate(documents):
            for item in document:
                if not isinstance(item, Section):
                    yield from flow.pass_through(number, item)
                elif item.kind == "table":
                    yield from flow.finish()
                    path = item.path if self.structure else ()
                    for chunk in self.split_table(item.text, path):
                        yield number, replace(chunk, page=item.page)
                else:
                    yield from flow.add(number, item)
        yield from flow.finish()

    # --- measuring ----------------------------------------------------------------------------

    def measure(self, group: list[_Piece]) -> None:
        """Measure a group's pieces into their sections' pending spans.

        Runs of short pieces are joined and tokenized in one call; a long piece (a cut-up
        giant line, a paragraph without punctuation) is tokenized alone, so that a text
        repeating itself, whose long pieces repeat, finds them in the cache.
        """
        run: list[_Piece] = []
        for piece in group:
            if piece.end - piece.start < _LONG_PIECE:
                run.append(piece)
                continue
            if run:
                self._measure_run(run)
                run = []
            self._measure_run([piece])
        if run:
            self._measure_run(run)

    def _measure_run(self, group: list[_Piece]) -> None:
        """Measure ``group`` with one tokenizer call.

        Pieces over the budget are split at Kiwi's sentence ends when they are spaced Korean,
        and what is still over is cut into windows of tokens.
        """
        parts: list[str] = []
        bases: list[int] = []
        position = 0
        for piece in group:
            if parts:
                parts.append(_SEPARATOR)
                position += len(_SEPARATOR)
            bases.append(position)
            parts.append(piece.state.section.text[piece.start : piece.end])
            position += piece.end - piece.start
        joined = "".join(parts)
        tokens = self._tokens(joined)
        ends = [base + p.end - p.start for base, p in zip(bases, group, strict=True)]
        # Count from the previous piece's end, so tokens mapped to the white space between
        # pieces (sentencepiece's lone "▁") are counted once, not lost.
        froms = [0, *ends[:-1]]
        run_on = [
            i
            for i in range(len(group))
            if tokens.count(froms[i], ends[i]) > self.chunk_tokens
            and _is_spaced_korean(joined, bases[i], ends[i])
        ]
        refined: dict[int, list[tuple[int, int]]] = {}
        if run_on:
            found = self._sentences([joined[bases[i] : ends[i]] for i in run_on])
            for i, bounds in zip(run_on, found, strict=True):
                edges = [(bases[i] + a, bases[i] + b) for a, b in bounds]
                refined[i] = [(a, b) for a, b in edges if joined[a:b].strip()]
        for i, piece in enumerate(group):
            state = piece.state
            shift = piece.start - bases[i]  # joined offset -> offset in the section's text
            budget = self.chunk_tokens - state.reserve
            previous = froms[i]
            for a, b in refined.get(i) or [(bases[i], ends[i])]:
                rank = unit_rank(state.section.text, a + shift) if self.structure else 0
                count = tokens.count(previous, b)
                if count > budget:
                    for start, end, size in tokens.windows(
                        previous, b, budget, self.overlap_tokens
                    ):
                        start = max(start, a)  # a token may begin on the white space before
                        state.pending.append(_Span(start + shift, end + shift, size, True, rank))
                        rank = 0
                else:
                    exact = self.exact_ids and piece.exact
                    exact = exact and _on_spaces(joined, a, b, bases[i], ends[i])
                    ids = tokens.slice(previous, b) if exact else None
                    state.pending.append(_Span(a + shift, b + shift, count, False, rank, ids))
                previous = b

    def _sentences(self, texts: list[str]) -> list[list[tuple[int, int]]]:
        """Kiwi's sentence bounds of each text, those of recent long texts from the cache."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._bounds))
        found = dict(zip(missing, korean_sentences(missing), strict=True)) if missing else {}
        known = {t: found[t] if t in found else self._bounds[t] for t in texts}
        for text, bounds in found.items():
            self._bounds[text] = bounds
            if len(self._bounds) > _CACHED_TEXTS:
                self._bounds.popitem(last=False)
        return [known[text] for text in texts]

    def _tokens(self, text: str) -> _Tokens:
        tokens = self._cache.get(text)
        if tokens is not None:
            self._cache.move_to_end(text)
            return tokens
        # verbose=False: stretches longer than the model's window are expected here (they are
        # measured in order to be cut), so the "sequence too long" warning is noise.
        encoded = self.tokenizer(
            text, add_special_tokens=False, return_offsets_mapping=True, verbose=False
        )
        tokens = _Tokens(encoded["offset_mapping"], encoded["input_ids"])
        if len(text) >= _LONG_PIECE:  # short texts are cheap to tokenize again
            self._cache[text] = tokens
            if len(self._cache) > _CACHED_TEXTS:
                self._cache.popitem(last=False)
        return tokens

    def _prefix(self, path: tuple[str, ...]) -> _Prefix:
        """The line a chunk under ``path`` starts with.

        It is the path, cut from the front to its share of the budget; nothing when even its
        last heading is longer.
        """
        if not path or not self.structure:
            return _Prefix()
        if path not in self._prefixes:
            prefix = _Prefix()
            for first in range(len(path)):
                line = PATH_SEPARATOR.join(path[first:])
                ids = list(
                    self.tokenizer(line, add_special_tokens=False, verbose=False)["input_ids"]
                )
                # The line break after the line is white space to a separable tokenizer.
                tokens = len(ids) + (0 if self.exact_ids else 1)
                if tokens <= self.chunk_tokens * _PATH_SHARE:
                    prefix = _Prefix(line, tuple(ids) if self.exact_ids else None, tokens)
                    break
            self._prefixes[path] = prefix
        return self._prefixes[path]

    def _window_chunks(self, text: str) -> list[TextChunk]:
        tokens = self._tokens(text)
        windows = tokens.windows(0, len(text), self.chunk_tokens, self.overlap_tokens)
        return [TextChunk(text[a:b], n) for a, b, n in windows] or [TextChunk(text, 0)]

    # --- packing ------------------------------------------------------------------------------

    def pack(self, state: _Open, *, final: bool) -> Iterator[list[_Span]]:
        """Every complete chunk of ``state.pending`` as its spans; the open one stays pending."""
        budget = self.chunk_tokens - state.reserve
        current: list[_Span] = []
        used = 0
        for span in state.pending:
            if span.alone:
                if current:
                    yield current
                    current, used = [], 0
                yield [span]
                continue
            while current and used + span.tokens > budget:
                cut = self._unit_cut(current, span, budget)
                yield current[:cut]
                if cut < len(current) or (span.rank >= _UNIT and self.structure):
                    current = current[cut:]  # between units: no overlap
                else:
                    current = self._overlap_tail(current)
                    if sum(s.tokens for s in current) + span.tokens > budget:
                        current = []
                used = sum(s.tokens for s in current)
            current.append(span)
            used += span.tokens
        if final and current:
            yield current
            current = []
        state.pending[:] = current

    def _unit_cut(self, spans: list[_Span], following: _Span, budget: int) -> int:
        """Where a full chunk ends: before ``following``, or at a stronger unit boundary.

        A boundary in the chunk's second half that is stronger than the one before
        ``following`` wins, so the unit after it starts the next chunk whole.
        """
        if not self.structure:
            return len(spans)
        cut, rank, used = len(spans), _UNIT, 0
        for index, span in enumerate(spans):
            stronger = index and span.rank > following.rank and span.rank >= rank
            if stronger and used >= budget * _MIN_FILL:
                cut, rank = index, span.rank
            used += span.tokens
        return cut

    def _overlap_tail(self, sentences: list[_Span]) -> list[_Span]:
        tail: list[_Span] = []
        budget = self.overlap_tokens
        for sentence in reversed(sentences):
            if sentence.tokens > budget:
                break
            tail.insert(0, sentence)
            budget -= sentence.tokens
        return tail

    def compose(
        self, parts: list[tuple[_Open, list[_Span]]], path: tuple[str, ...] | None = None
    ) -> TextChunk:
        """The chunk made of spans of one section, or of whole small sibling sections.

        Args:
            parts: Each section with the spans of it that go in, in reading order.
            path: The chunk's path; default the (single) section's.

        """
        first = parts[0][0]
        path = first.section.path if path is None else path
        if len(parts) > 1:
            prefix = self._prefix(path)
        else:
            prefix = first.prefix if first.opens(parts[0][1][0]) else first.continued
        body = "\n".join(state.section.text[s[0].start : s[-1].end].strip() for state, s in parts)
        tokens = sum(span.tokens for _, spans in parts for span in spans)
        ids: tuple[int, ...] | None = None
        spans = [span for _, chosen in parts for span in chosen]
        if prefix.ids is not None and all(span.ids is not None for span in spans):
            ids = prefix.ids + tuple(i for span in spans for i in span.ids or ())
        return replace(_with_prefix(prefix, body, tokens, path, ids), page=first.section.page)


class _Flow(Generic[T]):
    """The stream of one :meth:`TokenChunker.chunk_documents` call.

    Pieces of consecutive text sections gather in a group until it holds ``_GROUP_CHARS``;
    the group is then measured in one tokenizer call and every section it completes is packed
    and emitted. Items between sections (figures) wait in ``entries`` so they come out in
    their place. A section small enough to share a chunk with its next sibling waits in
    ``siblings``.
    """

    def __init__(self, chunker: TokenChunker) -> None:
        self.chunker = chunker
        self.group: list[_Piece] = []
        self.chars = 0
        self.entries: list[_Open | tuple[int, T]] = []
        self.siblings: list[tuple[_Open, list[_Span]]] = []

    def add(self, document: int, section: Section) -> Iterator[tuple[int, TextChunk | T]]:
        chunker = self.chunker
        state = _Open(
            section,
            document,
            chunker._prefix(_context(section, continued=False)),
            chunker._prefix(_context(section, continued=True)),
        )
        self.entries.append(state)
        pieces = _pieces(section.text, chunker.max_piece_chars, units=chunker.structure)
        for start, end, exact in pieces:
            self.group.append(_Piece(state, start, end, exact))
            self.chars += end - start
            if self.chars >= _GROUP_CHARS:
                yield from self._emit(final=False)
        state.measuring = False

    def pass_through(self, document: int, item: T) -> Iterator[tuple[int, TextChunk | T]]:
        if self.entries:
            self.entries.append((document, item))
            return
        yield from self._siblings()
        yield document, item

    def finish(self) -> Iterator[tuple[int, TextChunk | T]]:
        yield from self._emit(final=True)
        yield from self._siblings()

    def _emit(self, *, final: bool) -> Iterator[tuple[int, TextChunk | T]]:
        if self.group:
            self.chunker.measure(self.group)
            self.group, self.chars = [], 0
        chunker = self.chunker
        entries, self.entries = self.entries, []
        for entry in entries:
            if not isinstance(entry, _Open):
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

    def _section(self, state: _Open, chunks: list[list[_Span]]) -> Iterator[tuple[int, TextChunk]]:
        """A finished section's chunks; a small one waits for siblings to share a chunk."""
        chunker = self.chunker
        small = (
            chunker.structure
            and not state.section.article
            and len(chunks) == 1
            and bool(state.section.path)
            and sum(s.tokens for s in chunks[0]) <= chunker.chunk_tokens * _SMALL_SECTION
        )
        if not (small and self._joins(state, chunks[0])):
            yield from self._siblings()
        if small:
            self.siblings.append((state, chunks[0]))
            return
        yield from ((state.document, chunker.compose([(state, s)])) for s in chunks)

    def _joins(self, state: _Open, spans: list[_Span]) -> bool:
        if not self.siblings:
            return False
        first = self.siblings[0][0]
        parent = state.section.path[:-1]
        if first.document != state.document or first.section.path[:-1] != parent:
            return False
        used = sum(s.tokens for _, chosen in self.siblings for s in chosen)
        used += sum(s.tokens for s in spans)
        return used + self.chunker._prefix(parent).tokens <= self.chunker.chunk_tokens

    def _siblings(self) -> Iterator[tuple[int, TextChunk]]:
        if not self.siblings:
            return
        parts, self.siblings = self.siblings, []
        path = parts[0][0].section.path if len(parts) == 1 else parts[0][0].section.path[:-1]
        yield parts[0][0].document, self.chunker.compose(parts, path)


def _context(section: Section, *, continued: bool) -> tuple[str, ...]:
    """The headings a chunk of ``section`` starts with.

    That is its path, less its own heading in the first chunk, whose passage opens with it.
    """
    return section.path[:-1] if section.titled and not continued else section.path


def _with_prefix(
    prefix: _Prefix,
    body: str,
    tokens: int,
    path: tuple[str, ...],
    ids: tuple[int, ...] | None = None,
) -> TextChunk:
    text = f"{prefix.line}\n{body}" if prefix.line else body
    context = len(prefix.line) + 1 if prefix.line else 0
    return TextChunk(text, tokens + prefix.tokens, path, None, ids, context)


def _on_spaces(text: str, start: int, end: int, first: int, last: int) -> bool:
    """Whether ``[start, end)`` starts and ends at white space or at ``first``/``last``."""
    return (start == first or text[start - 1].isspace()) and (end == last or text[end].isspace())


def _separable(tokenizer: PreTrainedTokenizerBase) -> bool:
    """Whether a text's tokens are its words' tokens, whatever white space joins them.

    True for sentencepiece (Metaspace) and WordPiece tokenizers, false for byte-level BPE,
    whose tokens carry the space before a word. Only then can a chunk's ids be sliced from a
    longer text's tokens and equal the chunk's own tokenization.
    """

    def ids(text: str) -> list[int]:
        return list(tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])

    for probe in _PROBES:
        words = [ids(word) for word in probe.split()]
        if ids(probe) != [i for word in words for i in word]:
            return False
    return True


def _pieces(text: str, max_chars: int, *, units: bool) -> Iterator[tuple[int, int, bool]]:
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


def _is_spaced_korean(text: str, start: int, end: int) -> bool:
    """Hangul written with word spacing: prose Kiwi can split (a spaceless blob is not)."""
    return bool(_HANGUL.search(text, start, end)) and (
        text.count(" ", start, end) * _MAX_WORD_CHARS >= end - start
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

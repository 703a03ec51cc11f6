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

from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, TypeVar

from ingest.chunking.flow import ChunkFlow
from ingest.chunking.outline import Section, unit_rank
from ingest.chunking.sentences import is_spaced_korean, korean_sentences
from ingest.chunking.spans import OpenSection, Piece, Prefix, Span, TextChunk, with_prefix
from ingest.chunking.tokens import TokenOffsets, is_separable, on_spaces

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

T = TypeVar("T")

_SEPARATOR = " "  # between the pieces of a group
_LONG_PIECE = 1024  # a piece this long is tokenized alone, and its tokens are cached
_CACHED_TEXTS = 16  # recent long pieces and groups whose tokens are kept
# A cut between units is taken only if the chunk before it is at least this full.
_MIN_FILL = 0.5
# The strength from which a boundary is between units (an item ``1.`` or stronger).
_UNIT = 2
# The heading path may take this share of a chunk's budget; beyond it, it is cut from the front.
_PATH_SHARE = 0.25
PATH_SEPARATOR = " > "


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
        self.exact_ids = is_separable(tokenizer)
        self._cache: OrderedDict[str, TokenOffsets] = OrderedDict()  # recent long texts' tokens
        self._bounds: OrderedDict[str, list[tuple[int, int]]] = OrderedDict()  # Kiwi's, likewise
        self._prefixes: dict[tuple[str, ...], Prefix] = {}

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
        prefix = self.prefix_line(path)
        budget = self.chunk_tokens - prefix.tokens
        joined = "\n".join(rows)
        tokens = self._tokens(joined)
        counts, position = [], 0
        for row in rows:
            counts.append(tokens.count(max(position - 1, 0), position + len(row)))
            position += len(row) + 1
        if sum(counts) <= budget:
            return [with_prefix(prefix, joined, sum(counts), path)]
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
                chunks.append(with_prefix(prefix, "\n".join(header + current), size, path))
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
        flow: ChunkFlow[T] = ChunkFlow(self)
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

    def measure(self, group: list[Piece]) -> None:
        """Measure a group's pieces into their sections' pending spans.

        Runs of short pieces are joined and tokenized in one call; a long piece (a cut-up
        giant line, a paragraph without punctuation) is tokenized alone, so that a text
        repeating itself, whose long pieces repeat, finds them in the cache.
        """
        run: list[Piece] = []
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

    def _measure_run(self, group: list[Piece]) -> None:
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
            and is_spaced_korean(joined, bases[i], ends[i])
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
                        state.pending.append(Span(start + shift, end + shift, size, True, rank))
                        rank = 0
                else:
                    exact = self.exact_ids and piece.exact
                    exact = exact and on_spaces(joined, a, b, bases[i], ends[i])
                    ids = tokens.slice(previous, b) if exact else None
                    state.pending.append(Span(a + shift, b + shift, count, False, rank, ids))
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

    def _tokens(self, text: str) -> TokenOffsets:
        tokens = self._cache.get(text)
        if tokens is not None:
            self._cache.move_to_end(text)
            return tokens
        # verbose=False: stretches longer than the model's window are expected here (they are
        # measured in order to be cut), so the "sequence too long" warning is noise.
        encoded = self.tokenizer(
            text, add_special_tokens=False, return_offsets_mapping=True, verbose=False
        )
        tokens = TokenOffsets(encoded["offset_mapping"], encoded["input_ids"])
        if len(text) >= _LONG_PIECE:  # short texts are cheap to tokenize again
            self._cache[text] = tokens
            if len(self._cache) > _CACHED_TEXTS:
                self._cache.popitem(last=False)
        return tokens

    def prefix_line(self, path: tuple[str, ...]) -> Prefix:
        """The line a chunk under ``path`` starts with.

        It is the path, cut from the front to its share of the budget; nothing when even its
        last heading is longer.
        """
        if not path or not self.structure:
            return Prefix()
        if path not in self._prefixes:
            prefix = Prefix()
            for first in range(len(path)):
                line = PATH_SEPARATOR.join(path[first:])
                ids = list(
                    self.tokenizer(line, add_special_tokens=False, verbose=False)["input_ids"]
                )
                # The line break after the line is white space to a separable tokenizer.
                tokens = len(ids) + (0 if self.exact_ids else 1)
                if tokens <= self.chunk_tokens * _PATH_SHARE:
                    prefix = Prefix(line, tuple(ids) if self.exact_ids else None, tokens)
                    break
            self._prefixes[path] = prefix
        return self._prefixes[path]

    def _window_chunks(self, text: str) -> list[TextChunk]:
        tokens = self._tokens(text)
        windows = tokens.windows(0, len(text), self.chunk_tokens, self.overlap_tokens)
        return [TextChunk(text[a:b], n) for a, b, n in windows] or [TextChunk(text, 0)]

    # --- packing ------------------------------------------------------------------------------

    def pack(self, state: OpenSection, *, final: bool) -> Iterator[list[Span]]:
        """Every complete chunk of ``state.pending`` as its spans; the open one stays pending."""
        budget = self.chunk_tokens - state.reserve
        current: list[Span] = []
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

    def _unit_cut(self, spans: list[Span], following: Span, budget: int) -> int:
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

    def _overlap_tail(self, sentences: list[Span]) -> list[Span]:
        tail: list[Span] = []
        budget = self.overlap_tokens
        for sentence in reversed(sentences):
            if sentence.tokens > budget:
                break
            tail.insert(0, sentence)
            budget -= sentence.tokens
        return tail

    def compose(
        self, parts: list[tuple[OpenSection, list[Span]]], path: tuple[str, ...] | None = None
    ) -> TextChunk:
        """The chunk made of spans of one section, or of whole small sibling sections.

        Args:
            parts: Each section with the spans of it that go in, in reading order.
            path: The chunk's path; default the (single) section's.

        """
        first = parts[0][0]
        path = first.section.path if path is None else path
        if len(parts) > 1:
            prefix = self.prefix_line(path)
        else:
            prefix = first.prefix if first.opens(parts[0][1][0]) else first.continued
        body = "\n".join(state.section.text[s[0].start : s[-1].end].strip() for state, s in parts)
        tokens = sum(span.tokens for _, spans in parts for span in spans)
        ids: tuple[int, ...] | None = None
        spans = [span for _, chosen in parts for span in chosen]
        if prefix.ids is not None and all(span.ids is not None for span in spans):
            ids = prefix.ids + tuple(i for span in spans for i in span.ids or ())
        return replace(with_prefix(prefix, body, tokens, path, ids), page=first.section.page)

"""Token-sized chunks that end at sentence boundaries, for Korean and English alike.

Chunks are measured with the embedder's own tokenizer, because a character budget means very
different amounts of text in Hangul and in Latin script. Text is cut into rough sentences by
punctuation and line breaks (with guards for "Dr.", "U.S." and list numbers), each piece is
tokenized (in batches), and pieces are packed greedily up to the budget; consecutive chunks
share trailing sentences up to the overlap budget. Chunks are slices of the original text, so
line breaks and spacing survive.

Korean often ends sentences without punctuation ("...했어요 그리고 ..."), which leaves a
run-on piece that punctuation cannot split. Such a piece is handed to Kiwi (kiwipiepy), whose
morphological analysis finds endings like "-요" and "-다". Kiwi only sees pieces that contain
Hangul and are longer than a whole chunk, because a piece that fits is never cut anyway: Kiwi
costs a tenth to a fifth of the embedding time when run over all text on a CPU, and on punctuated
prose it would change nothing. A piece still over budget is cut at token boundaries.

Cost stays linear on hostile input: pieces are capped in characters before any tokenizer or
Kiwi call (a 20 MB line without a space is cut, not tokenized whole; Kiwi never sees text
without word spacing), and text is processed in bounded groups, lazily, so a caller can stop
after enough chunks. Each group is tokenized in one call and sentences are measured by the
token offsets, because a tokenizer's per-call cost can dwarf its per-character cost.

Tables are kept whole when they fit; a larger table is split between rows, each part repeating
the header row so it still reads as a table.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rag.kiwi import kiwi

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

# A sentence ends at terminal punctuation (closing quotes and brackets included) before white
# space, or at a line break.
_END = re.compile(r"[.!?。！？…]+[\"'”’)\]」』]*(?=\s)|\n")  # noqa: RUF001 (CJK punctuation)
_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_LAST_WORD = re.compile(r"\S*$")
_INITIALS = re.compile(r"(?:[A-Za-z]\.)*[A-Za-z]")
# Words whose period does not end a sentence (lower case, without the final period).
_ABBREVIATIONS = frozenset({
    "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs", "e.g", "i.e", "fig", "figs", "no",
    "nos", "vol", "pp", "cf", "approx", "inc", "ltd", "co", "corp", "dept", "jan", "feb", "mar",
    "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
})  # fmt: skip
_GROUP_CHARS = 64 * 1024  # text tokenized per batch
# Korean prose puts a space at least every this many characters; text that does not is data,
# and Kiwi (tens of kilobytes a second) is not run on it.
_MAX_WORD_CHARS = 40


@dataclass(frozen=True)
class TextChunk:
    """A chunk's text and its size in embedder tokens."""

    text: str
    tokens: int


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    tokens: int
    alone: bool = False  # a window cut from an over-long sentence: emitted as its own chunk


class _Tokens:
    """Token offsets of a stretch of text, so any sub-span's tokens are counted by bisection.

    Tokenizing a whole group of sentences in one call, instead of each sentence, costs one
    normalizer pass instead of thousands (a sentencepiece normalizer can cost milliseconds per
    call whatever the length).
    """

    def __init__(self, offsets: list[tuple[int, int]], base: int) -> None:
        self.starts = [base + a for a, _ in offsets]
        self.ends = [base + b for _, b in offsets]

    def count(self, start: int, end: int) -> int:
        return bisect_left(self.starts, end) - bisect_left(self.starts, start)

    def windows(self, start: int, end: int, size: int, overlap: int) -> list[_Span]:
        """Windows of ``size`` tokens over ``[start, end)``, overlapping by ``overlap``."""
        first, stop = bisect_left(self.starts, start), bisect_left(self.starts, end)
        spans = []
        for i in range(first, stop, size - overlap):
            last = min(i + size, stop)
            spans.append(_Span(self.starts[i], min(self.ends[last - 1], end), last - i, True))
            if last >= stop:
                break
        return spans


class TokenChunker:
    """Split text into chunks of at most ``chunk_tokens`` tokens with sentence overlap.

    Args:
        tokenizer: A fast (Rust) Hugging Face tokenizer, normally the embedder's.
        chunk_tokens: Maximum tokens per chunk.
        overlap_tokens: Tokens of trailing context repeated at the start of the next chunk.

    """

    def __init__(
        self, tokenizer: PreTrainedTokenizerBase, chunk_tokens: int, overlap_tokens: int
    ) -> None:
        if not 0 <= overlap_tokens < chunk_tokens:
            msg = f"chunk_overlap ({overlap_tokens}) must be below chunk_tokens ({chunk_tokens})"
            raise ValueError(msg)
        self.tokenizer = tokenizer
        self.chunk_tokens = chunk_tokens
        self.overlap_tokens = overlap_tokens
        # Long enough that only a piece far over budget is cut by characters.
        self.max_piece_chars = max(4096, 16 * chunk_tokens)

    def split(self, text: str) -> list[TextChunk]:
        """Chunks of ``text`` in reading order; empty when the text is blank."""
        return list(self.iter_chunks(text))

    def iter_chunks(self, text: str) -> Iterator[TextChunk]:
        """Chunks of ``text`` in reading order, produced lazily."""
        pending: list[_Span] = []
        group: list[tuple[int, int]] = []
        for piece in _pieces(text, self.max_piece_chars):
            group.append(piece)
            if group[-1][1] - group[0][0] >= _GROUP_CHARS:
                pending.extend(self._measure(text, group))
                group = []
                yield from self._pack(pending, text, final=False)
        pending.extend(self._measure(text, group))
        yield from self._pack(pending, text, final=True)

    def split_table(self, text: str) -> list[TextChunk]:
        """A table (one row per line) whole if it fits, else row groups under its header."""
        rows = [row for row in text.split("\n") if row.strip()]
        if not rows:
            return []
        joined = "\n".join(rows)
        tokens = self._tokens(joined, 0, len(joined))
        counts, position = [], 0
        for row in rows:
            counts.append(tokens.count(max(position - 1, 0), position + len(row)))
            position += len(row) + 1
        if sum(counts) <= self.chunk_tokens:
            return [TextChunk(joined, sum(counts))]
        repeat = counts[0] <= self.chunk_tokens // 4
        header = [rows[0]] if repeat else []
        room = self.chunk_tokens - (counts[0] if repeat else 0)
        chunks: list[TextChunk] = []
        current: list[str] = []
        used = 0

        def flush() -> None:
            nonlocal used
            if current:
                body = "\n".join(header + current)
                chunks.append(TextChunk(body, used + (counts[0] if repeat else 0)))
                current.clear()
                used = 0

        start = 1 if repeat else 0
        for row, count in zip(rows[start:], counts[start:], strict=True):
            if count > room:
                flush()
                chunks.extend(self._window_chunks(row))
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

    # --- internals ---------------------------------------------------------------------------

    def _tokens(self, text: str, start: int, end: int) -> _Tokens:
        # verbose=False: stretches longer than the model's window are expected here (they are
        # measured in order to be cut), so the tokenizer's "sequence too long" warning is noise.
        offsets = self.tokenizer(
            text[start:end], add_special_tokens=False, return_offsets_mapping=True, verbose=False
        )["offset_mapping"]
        return _Tokens(offsets, start)

    def _window_chunks(self, text: str) -> list[TextChunk]:
        tokens = self._tokens(text, 0, len(text))
        windows = tokens.windows(0, len(text), self.chunk_tokens, self.overlap_tokens)
        return [TextChunk(text[w.start : w.end], w.tokens) for w in windows] or [TextChunk(text, 0)]

    def _measure(self, text: str, group: list[tuple[int, int]]) -> list[_Span]:
        """Token counts for a group of pieces; over-long pieces refined or cut into windows."""
        if not group:
            return []
        tokens = self._tokens(text, group[0][0], group[-1][1])
        # Count from the previous piece's end, so tokens mapped to the white space between
        # pieces (sentencepiece's lone "▁") are counted once, not lost.
        froms = [group[0][0]] + [b for _, b in group[:-1]]
        spans = [_Span(a, b, tokens.count(f, b)) for f, (a, b) in zip(froms, group, strict=True)]
        run_on = [
            i
            for i, span in enumerate(spans)
            if span.tokens > self.chunk_tokens and _is_spaced_korean(text, span.start, span.end)
        ]
        refined: dict[int, list[_Span]] = {}
        if run_on:
            sentences = korean_sentences([text[spans[i].start : spans[i].end] for i in run_on])
            for i, bounds in zip(run_on, sentences, strict=True):
                base = spans[i].start
                edges = [(base + a, base + b) for a, b in bounds if text[base + a : base + b]]
                starts = [froms[i]] + [b for _, b in edges[:-1]]
                refined[i] = [
                    _Span(a, b, tokens.count(f, b))
                    for f, (a, b) in zip(starts, edges, strict=True)
                    if text[a:b].strip()
                ]
        measured: list[_Span] = []
        for i, span in enumerate(spans):
            for part in refined.get(i) or [span]:
                if part.tokens > self.chunk_tokens:
                    measured.extend(
                        tokens.windows(part.start, part.end, self.chunk_tokens, self.overlap_tokens)
                    )
                else:
                    measured.append(part)
        return measured

    def _pack(self, pending: list[_Span], text: str, *, final: bool) -> Iterator[TextChunk]:
        """Emit every chunk that is complete; keep the open one (and its overlap) in ``pending``.

        ``pending`` holds the sentences of the chunk being filled followed by unpacked ones.
        """
        current: list[_Span] = []
        used = 0
        for span in pending:
            if span.alone:
                if current:
                    yield self._emit(current, text)
                    current, used = [], 0
                yield self._emit([span], text)
                continue
            if current and used + span.tokens > self.chunk_tokens:
                yield self._emit(current, text)
                current = self._overlap_tail(current)
                used = sum(s.tokens for s in current)
            current.append(span)
            used += span.tokens
        if final and current:
            yield self._emit(current, text)
            current = []
        pending[:] = current

    def _emit(self, spans: list[_Span], text: str) -> TextChunk:
        return TextChunk(text[spans[0].start : spans[-1].end].strip(), sum(s.tokens for s in spans))

    def _overlap_tail(self, sentences: list[_Span]) -> list[_Span]:
        tail: list[_Span] = []
        budget = self.overlap_tokens
        for sentence in reversed(sentences):
            if sentence.tokens > budget:
                break
            tail.insert(0, sentence)
            budget -= sentence.tokens
        return tail


def _pieces(text: str, max_chars: int) -> Iterator[tuple[int, int]]:
    """Rough sentences as ``(start, end)``, trimmed of white space, none over ``max_chars``."""
    start = 0
    for match in _END.finditer(text):
        if match.group() == "\n":
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


def _trimmed(text: str, start: int, end: int, max_chars: int) -> Iterator[tuple[int, int]]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    while end - start > max_chars:
        # Cut a giant piece at the last space in its second half, or hard at the limit.
        cut = text.rfind(" ", start + max_chars // 2, start + max_chars)
        cut = cut if cut > start else start + max_chars
        yield start, cut
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if end > start:
        yield start, end


def korean_sentences(texts: list[str]) -> list[list[tuple[int, int]]]:
    """Kiwi's sentence boundaries ``(start, end)`` within each text."""
    with kiwi() as analyzer:
        results = analyzer.split_into_sents(texts)
        return [[(s.start, s.end) for s in sentences] for sentences in results]

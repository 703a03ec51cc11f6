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
costs about a fifth of the embedding time when run over all text on a CPU, and on punctuated
prose it would change nothing. A piece still over budget is cut at token boundaries.

Cost stays linear on hostile input: pieces are capped in characters before any tokenizer or
Kiwi call (a 20 MB line without a space is cut, not tokenized whole), and text is processed in
bounded groups, lazily, so a caller can stop after enough chunks.

Tables are kept whole when they fit; a larger table is split between rows, each part repeating
the header row so it still reads as a table.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

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
        size = 0
        for piece in _pieces(text, self.max_piece_chars):
            group.append(piece)
            size += piece[1] - piece[0]
            if size >= _GROUP_CHARS:
                pending.extend(self._measure(text, group))
                group, size = [], 0
                yield from self._pack(pending, text, final=False)
        pending.extend(self._measure(text, group))
        yield from self._pack(pending, text, final=True)

    def split_table(self, text: str) -> list[TextChunk]:
        """A table (one row per line) whole if it fits, else row groups under its header."""
        rows = [row for row in text.split("\n") if row.strip()]
        if not rows:
            return []
        counts = [len(ids) for ids in self._encode(rows)]
        if sum(counts) <= self.chunk_tokens:
            return [TextChunk("\n".join(rows), sum(counts))]
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
                chunks.extend(
                    TextChunk(row[a:b], n) for a, b, n in self._windows(row, self.chunk_tokens)
                )
                continue
            if used + count > room:
                flush()
            current.append(row)
            used += count
        flush()
        return chunks

    def truncate(self, text: str) -> TextChunk:
        """``text`` cut to the budget at a token boundary (for captions)."""
        text = text.strip()
        a, b, n = self._windows(text, self.chunk_tokens)[0]
        return TextChunk(text[a:b], n)

    # --- internals ---------------------------------------------------------------------------

    def _encode(self, texts: list[str]) -> list[list[int]]:
        # verbose=False: pieces longer than the model's window are expected here (they are
        # measured to be cut), so the tokenizer's "sequence too long" warning is noise.
        return self.tokenizer(
            texts, add_special_tokens=False, return_attention_mask=False, verbose=False
        )["input_ids"]

    def _measure(self, text: str, group: list[tuple[int, int]]) -> list[_Span]:
        """Token counts for a group of pieces; run-on Korean pieces refined into sentences."""
        if not group:
            return []
        counts = [len(ids) for ids in self._encode([text[a:b] for a, b in group])]
        run_on = [
            i
            for i, ((a, b), n) in enumerate(zip(group, counts, strict=True))
            if n > self.chunk_tokens and _HANGUL.search(text, a, b)
        ]
        refined: dict[int, list[_Span]] = {}
        if run_on:
            sentences = korean_sentences([text[group[i][0] : group[i][1]] for i in run_on])
            for i, bounds in zip(run_on, sentences, strict=True):
                base = group[i][0]
                parts = [
                    (base + a, base + b) for a, b in bounds if text[base + a : base + b].strip()
                ]
                sizes = self._encode([text[a:b] for a, b in parts]) if parts else []
                refined[i] = [
                    _Span(a, b, len(ids)) for (a, b), ids in zip(parts, sizes, strict=True)
                ]
        spans: list[_Span] = []
        for i, ((a, b), n) in enumerate(zip(group, counts, strict=True)):
            spans.extend(refined.get(i) or [_Span(a, b, n)])
        return spans

    def _pack(self, pending: list[_Span], text: str, *, final: bool) -> Iterator[TextChunk]:
        """Emit every chunk that is complete; keep the open one (and its overlap) in ``pending``.

        ``pending`` holds the sentences of the chunk being filled followed by unpacked ones.
        """
        current: list[_Span] = []
        used = 0
        for span in pending:
            if span.tokens > self.chunk_tokens:
                if current:
                    yield self._emit(current, text)
                    current, used = [], 0
                base = span.start
                for a, b, n in self._windows(text[span.start : span.end], self.chunk_tokens):
                    yield TextChunk(text[base + a : base + b].strip(), n)
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

    def _windows(self, text: str, size: int) -> list[tuple[int, int, int]]:
        """``(start, end, tokens)`` windows of ``size`` tokens overlapping by the overlap budget."""
        offsets = self.tokenizer(
            text, add_special_tokens=False, return_offsets_mapping=True, verbose=False
        )["offset_mapping"]
        if not offsets:
            return [(0, len(text), 0)]
        step = size - self.overlap_tokens
        windows = []
        for first in range(0, len(offsets), step):
            window = offsets[first : first + size]
            windows.append((window[0][0], window[-1][1], len(window)))
            if first + size >= len(offsets):
                break
        return windows


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


_kiwi: Any = None
_kiwi_lock = threading.Lock()


def korean_sentences(texts: list[str]) -> list[list[tuple[int, int]]]:
    """Kiwi's sentence boundaries ``(start, end)`` within each text (loaded on first use)."""
    global _kiwi  # one shared analyzer: it takes seconds and ~100 MB to load
    with _kiwi_lock:
        if _kiwi is None:
            from kiwipiepy import Kiwi

            _kiwi = Kiwi()
        results = _kiwi.split_into_sents(texts)
        return [[(s.start, s.end) for s in sentences] for sentences in results]

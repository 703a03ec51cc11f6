"""Token-sized chunks that end at sentence boundaries, for Korean and English alike.

Chunks are measured with the embedder's own tokenizer, because a character budget means very
different amounts of text in Hangul and in Latin script. Text is cut into sentences, each
sentence is tokenized once (in one batch call), and sentences are packed greedily up to the
budget; consecutive chunks share trailing sentences up to the overlap budget. A sentence longer
than the budget is cut at token boundaries using the tokenizer's character offsets. Chunks are
slices of the original text, so line breaks and spacing survive.

The trade-off: sentence packing never splits a sentence that fits, at the cost of chunks that
are sometimes a little under budget.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

# A sentence ends after terminal punctuation (ASCII, CJK full-width, ellipsis) followed by
# white space, or at a line break. Korean declaratives end in '.', so this covers '...다.'.
_SENTENCE_END = re.compile(r"(?<=[.!?。！？…])\s+|\n+")  # noqa: RUF001 (full-width marks end CJK sentences)


@dataclass(frozen=True)
class TextChunk:
    """A slice of a segment's text and its size in embedder tokens."""

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

    def split(self, text: str) -> list[TextChunk]:
        """Chunks of ``text`` in reading order; empty when the text is blank."""
        spans = self._sentence_spans(text)
        return [TextChunk(text[s.start : s.end].strip(), s.tokens) for s in self._pack(spans, text)]

    def _sentence_spans(self, text: str) -> list[_Span]:
        bounds: list[tuple[int, int]] = []
        start = 0
        for match in _SENTENCE_END.finditer(text):
            if text[start : match.start()].strip():
                bounds.append((start, match.start()))
            start = match.end()
        if text[start:].strip():
            bounds.append((start, len(text)))
        if not bounds:
            return []
        encoded = self.tokenizer(
            [text[a:b] for a, b in bounds], add_special_tokens=False, return_attention_mask=False
        )["input_ids"]
        return [_Span(a, b, len(ids)) for (a, b), ids in zip(bounds, encoded, strict=True)]

    def _pack(self, spans: list[_Span], text: str) -> list[_Span]:
        chunks: list[_Span] = []
        current: list[_Span] = []
        for span in spans:
            if span.tokens > self.chunk_tokens:
                if current:
                    chunks.append(_merge(current))
                    current = []
                chunks.extend(self._cut_long(span, text))
                continue
            if current and sum(s.tokens for s in current) + span.tokens > self.chunk_tokens:
                chunks.append(_merge(current))
                current = self._overlap_tail(current)
            current.append(span)
        if current:
            chunks.append(_merge(current))
        return chunks

    def _overlap_tail(self, sentences: list[_Span]) -> list[_Span]:
        tail: list[_Span] = []
        budget = self.overlap_tokens
        for sentence in reversed(sentences):
            if sentence.tokens > budget:
                break
            tail.insert(0, sentence)
            budget -= sentence.tokens
        return tail

    def _cut_long(self, span: _Span, text: str) -> list[_Span]:
        """Cut one over-long sentence into token windows that overlap by the overlap budget."""
        offsets = self.tokenizer(
            text[span.start : span.end], add_special_tokens=False, return_offsets_mapping=True
        )["offset_mapping"]
        step = self.chunk_tokens - self.overlap_tokens
        windows: list[_Span] = []
        for first in range(0, len(offsets), step):
            window = offsets[first : first + self.chunk_tokens]
            windows.append(
                _Span(span.start + window[0][0], span.start + window[-1][1], len(window))
            )
            if first + self.chunk_tokens >= len(offsets):
                break
        return windows


def _merge(spans: list[_Span]) -> _Span:
    return _Span(spans[0].start, spans[-1].end, sum(s.tokens for s in spans))

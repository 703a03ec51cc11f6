"""Token offsets of a stretch of text, and whether a tokenizer's tokens are its words' tokens."""

from __future__ import annotations

from array import array
from bisect import bisect_left
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

# Probes for whether tokens of a text equal the tokens of its words (see is_separable).
_PROBES = ("제1조(목적) 이 법은", "U.S. office.\n1. 개요", "① 국회는 (가) 항목", "hello  world")


class TokenOffsets:
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
        """Tokens starting in ``[start, end)``."""
        return bisect_left(self.starts, end) - bisect_left(self.starts, start)

    def slice(self, start: int, end: int) -> tuple[int, ...]:
        """The ids of the tokens starting in ``[start, end)``."""
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


def on_spaces(text: str, start: int, end: int, first: int, last: int) -> bool:
    """Whether ``[start, end)`` starts and ends at white space or at ``first``/``last``."""
    return (start == first or text[start - 1].isspace()) and (end == last or text[end].isspace())


def is_separable(tokenizer: PreTrainedTokenizerBase) -> bool:
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

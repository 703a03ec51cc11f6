"""Keyword tokens for BM25: Kiwi morphemes for Korean, lowercased words for everything else.

Korean glues particles and endings onto stems (``정책을``, ``정책에서``), so whitespace tokens
rarely match between a question and its passage; Kiwi's morphological analysis splits them and
BM25 then matches ``정책``. Only content morphemes are kept (nouns, verb and adjective stems,
roots, foreign words, numbers, hanja): particles and endings are frequent and carry no topic.
Latin-script words come through Kiwi as ``SL`` tokens, lowercased, which measured far better
for English than whitespace splitting (punctuation stays attached there).

Kiwi loads its model once per process (~2 s) on first use, not at import.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kiwipiepy import Kiwi

# Changing what counts as a token invalidates saved BM25 views (they rebuild).
TOKENIZER_VERSION = "kiwi-content-lower-1"
KEEP_TAGS = frozenset(
    {"NNG", "NNP", "NNB", "NR", "NP", "VV", "VA", "XR", "SL", "SN", "SH", "MAG", "XSN"}
)
_STRIP = ".,!?;:'\"()[]{}<>"

_lock = threading.Lock()


@cache
def _kiwi() -> Kiwi:
    from kiwipiepy import Kiwi

    return Kiwi()


def _keep(tokens: Iterable[object]) -> list[str]:
    kept = []
    for token in tokens:
        if token.tag in KEEP_TAGS:  # type: ignore[attr-defined]
            form = token.form.lower().strip(_STRIP)  # type: ignore[attr-defined]
            if form:
                kept.append(form)
    return kept


def tokenize(text: str) -> list[str]:
    """Content tokens of one text."""
    return tokenize_many([text])[0]


def tokenize_many(texts: Sequence[str]) -> list[list[str]]:
    """Content tokens of many texts (Kiwi analyses them on several threads)."""
    if not texts:
        return []
    with _lock:  # one Kiwi instance; its batch API is not re-entrant
        return [_keep(tokens) for tokens in _kiwi().tokenize(list(texts))]

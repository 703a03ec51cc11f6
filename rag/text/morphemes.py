"""Keyword tokens for BM25: Kiwi morphemes for Korean, lowercased words for everything else.

Korean glues particles and endings onto stems (``정책을``, ``정책에서``), so whitespace tokens
rarely match between a question and its passage; Kiwi's morphological analysis splits them and
BM25 then matches ``정책``. Only content morphemes are kept (nouns, verb and adjective stems,
roots, adverbs, hanja): particles and endings are frequent and carry no topic.

Latin letters and digits are taken by a regular expression instead, lowercased: Kiwi's ``SL``
tokens sometimes split an English word before punctuation (``rotated.`` -> ``ro``, ``tated.``)
and keep the period on numbers, while whitespace splitting keeps all punctuation attached; plain
alphanumeric runs measured best for English and match ``1989`` inside ``1989년`` too.

The analyzer is the process's shared one (:mod:`rag.text.kiwi`), loaded on first use, not at import.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from rag.text.kiwi import kiwi

if TYPE_CHECKING:
    from kiwipiepy import Token

# Changing what counts as a token invalidates saved BM25 views (they rebuild).
TOKENIZER_VERSION = "kiwi-content+alnum-2"
KEEP_TAGS = frozenset({"NNG", "NNP", "NNB", "NR", "NP", "VV", "VA", "XR", "SH", "MAG", "XSN"})
_ALNUM = re.compile(r"[a-z0-9]+")


def _keep(text: str, tokens: Iterable[Token]) -> list[str]:
    kept = [token.form for token in tokens if token.tag in KEEP_TAGS]
    kept.extend(_ALNUM.findall(text.lower()))
    return kept


def tokenize(text: str) -> list[str]:
    """Content tokens of one text."""
    return tokenize_many([text])[0]


def tokenize_many(texts: Sequence[str]) -> list[list[str]]:
    """Content tokens of many texts (Kiwi analyses them on several threads)."""
    if not texts:
        return []
    with kiwi() as analyzer:
        analysed = analyzer.tokenize(list(texts))
        return [_keep(text, tokens) for text, tokens in zip(texts, analysed, strict=True)]

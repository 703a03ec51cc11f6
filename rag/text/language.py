"""Which language a text is in: Korean, English, both, or neither, from its letters alone.

Retrieval needs a chunk's language to compare it fairly with a question in another language
(:mod:`rag.embeddings.space`, :mod:`rag.retrieval.fusion`), and it needs it for every chunk at
ingest and for every query, so the detector must cost microseconds and never fail. A statistical
language identifier would add a model and still guess on a three-word question; for a Korean-English
assistant the script answers the question that matters: the share of Hangul among the letters
(Hangul syllables and jamo against Latin letters; digits, punctuation and other scripts do not
count).

Thresholds, measured on the shared datasets (``docs/benchmarks.md``, "Mixed-language
retrieval"): English sentences have no Hangul at all; Korean news sentences and KorQuAD
questions sit above 0.7 for 95% of them, and the Korean ones lowest down (0.25-0.4) are
questions about an English title (``blues in the night 을 부른 가수가 누구인가요?``) or
bilingual headlines (``Deadly storm is nearing Tokyo 끔찍한 태풍이 도쿄에 접근 중``). So: under
0.1 is English, 0.4 and over is Korean, and between is ``mixed``; a text without letters is
``und`` (undetermined, the BCP 47 code). Both of the last two are neutral wherever a language
is used.
"""

from __future__ import annotations

import re
from typing import Literal, get_args

Language = Literal["ko", "en", "mixed", "und"]
LANGUAGES: tuple[Language, ...] = get_args(Language)

# Hangul syllables, jamo and compatibility jamo; Latin letters with their accented forms.
_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
# What the answer's language is decided by: syllables and compatibility jamo, plain Latin letters.
_ANSWER_HANGUL = re.compile(r"[\uac00-\ud7a3\u3131-\u318e]")
_ANSWER_LATIN = re.compile(r"[A-Za-z]")
ENGLISH_BELOW = 0.1
KOREAN_FROM = 0.4


def hangul_share(text: str) -> float | None:
    """Share of Hangul among the Hangul and Latin letters of ``text``; None without letters."""
    hangul = len(_HANGUL.findall(text))
    latin = len(_LATIN.findall(text))
    return hangul / (hangul + latin) if hangul + latin else None


def detect_language(text: str) -> Language:
    """``ko``, ``en``, ``mixed`` or ``und`` for ``text`` (see the module docstring)."""
    share = hangul_share(text)
    if share is None:
        return "und"
    if share >= KOREAN_FROM:
        return "ko"
    return "en" if share < ENGLISH_BELOW else "mixed"


def answer_language(question: str) -> Literal["ko", "en"] | None:
    """The language to answer in: Korean if the question is mostly Hangul, English if Latin.

    Counts letters, not characters, so digits, punctuation and an English product name inside a
    Korean question do not flip it; ``None`` for anything else (the model then follows the
    system prompt's "answer in the language of the question").
    """
    hangul = len(_ANSWER_HANGUL.findall(question))
    latin = len(_ANSWER_LATIN.findall(question))
    if hangul and hangul * 3 >= latin:  # a Hangul syllable carries about three Latin letters
        return "ko"
    if latin:
        return "en"
    return None

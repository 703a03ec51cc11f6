"""Korean particles chosen by the word before them: 이/가, 을/를, 은/는, 과/와, 으로/로.

A template writes a particle in its placeholder form after a value it cannot know in advance
(``{name}(으)로``, ``{label}이(가)``); :func:`attach_particles` replaces each with the form the
preceding word takes, as a Korean writer would: ``PDF 문서가``, ``선영으로``, ``서울로``.

What decides is whether the word, read aloud, ends in a final consonant (받침), and for 으로/로
whether that consonant is ㄹ (which takes 로). A Hangul syllable says it itself. A number is read
in Korean (``3`` 삼, ``10`` 십, ``2`` 이). Latin letters are read as a Korean reader would: an
all-capitals word letter by letter (``PDF`` 에프, ``HTML`` 에이치티엠엘), another word by its
last letters (``-l`` ㄹ, ``-m``/``-n``/``-ng``/``-k``/``-ck``/``-p``/``-b`` a consonant, the rest
a vowel: ``file`` 파일 is the exception this rule gets wrong, and it reads as well as any).
Anything else (a symbol, another script, nothing) is read as ending in a vowel.
"""

from __future__ import annotations

import re

_HANGUL_FIRST, _HANGUL_LAST = 0xAC00, 0xD7A3
_RIEUL = 8  # ㄹ's index among the final consonants

# The final consonant each form ends in: None (a vowel), "ㄹ", or "C" (any other consonant).
Final = str | None

# Digits read in Korean: 영 일 이 삼 사 오 육 칠 팔 구.
_DIGITS: dict[str, Final] = {
    "0": "C",
    "1": "ㄹ",
    "2": None,
    "3": "C",
    "4": None,
    "5": None,
    "6": "C",
    "7": "ㄹ",
    "8": "ㄹ",
    "9": None,
}
# A number ending in zeros is read by its place (십 백 천 만 억 조): only 조 ends in a vowel.
_TRILLION_ZEROS = 12
# Letter names: 에이 비 씨 디 이 에프 지 에이치 아이 제이 케이 엘 엠 엔 오 피 큐 알 에스 티
# 유 브이 더블유 엑스 와이 제트.
_LETTERS: dict[str, Final] = {letter: None for letter in "ABCDEFGHIJKOPQSTUVWXYZ"} | {
    "L": "ㄹ",
    "M": "C",
    "N": "C",
    "R": "ㄹ",
}
_CONSONANT_ENDINGS = ("ng", "ck", "m", "n", "k", "p", "b")

# placeholder -> (after a final consonant, after a vowel, after ㄹ)
PARTICLES: dict[str, tuple[str, str, str]] = {
    "이(가)": ("이", "가", "이"),
    "을(를)": ("을", "를", "을"),
    "은(는)": ("은", "는", "은"),
    "과(와)": ("과", "와", "과"),
    "(으)로": ("으로", "로", "로"),
}
_PLACEHOLDER = re.compile("|".join(re.escape(p) for p in PARTICLES))
_NUMBER_END = re.compile(r"[0-9][0-9,]*$")
_LETTERS_END = re.compile(r"[A-Za-z]+$")
_WORD_END = re.compile(r"([0-9A-Za-z\uAC00-\uD7A3]+)[\s)\]}'\"\u2019\u201d\u00bb\u203a.]*$")


def final_of(word: str) -> Final:
    """How ``word`` ends read aloud: None (a vowel), ``"ㄹ"`` or ``"C"`` (another consonant).

    Closing brackets, quotes and spaces after the word are passed over (``'시트1'`` ends in 일).
    """
    found = _WORD_END.search(word)
    if found is None:
        return None
    text = found.group(1)
    last = text[-1]
    if _HANGUL_FIRST <= ord(last) <= _HANGUL_LAST:
        final = (ord(last) - _HANGUL_FIRST) % 28
        return None if final == 0 else "ㄹ" if final == _RIEUL else "C"
    if last.isdigit():
        number = _NUMBER_END.search(word[: found.end(1)])
        return _number_final(number.group() if number else last)
    letters_end = _LETTERS_END.search(text)
    if letters_end is None:
        return None
    letters = letters_end.group()
    if letters.isupper():
        return _LETTERS[letters[-1]]
    lower = letters.lower()
    if lower.endswith("l"):
        return "ㄹ"
    return "C" if lower.endswith(_CONSONANT_ENDINGS) else None


def _number_final(digits: str) -> Final:
    """How a number ends read in Korean (``10`` 십, ``1,000`` 천, ``2`` 이, ``10^12`` 조)."""
    digits = digits.replace(",", "")
    significant = digits.rstrip("0")
    zeros = len(digits) - len(significant)
    if not significant or zeros == 0:
        return _DIGITS[digits[-1]]  # 영, or the last digit's name
    return None if zeros >= _TRILLION_ZEROS else "C"  # 십 백 천 만 억 end in one; 조 does not


def particle(word: str, placeholder: str) -> str:
    """The form of ``placeholder`` (``"이(가)"``, ``"(으)로"``...) that follows ``word``."""
    consonant, vowel, after_rieul = PARTICLES[placeholder]
    final = final_of(word)
    if final is None:
        return vowel
    return after_rieul if final == "ㄹ" else consonant


def attach_particles(text: str) -> str:
    """Every particle placeholder in ``text`` in the form its preceding word takes."""
    pieces: list[str] = []
    start = 0
    for found in _PLACEHOLDER.finditer(text):
        pieces.append(text[start : found.start()])
        pieces.append(particle("".join(pieces), found.group()))
        start = found.end()
    pieces.append(text[start:])
    return "".join(pieces)

"""Topic changes: a chat turn that leaves its conversation behind is searched on its own.

A follow-up is searched with the turns before it (:mod:`rag.retrieval.followup`), which is what
finds "그럼 병가는요?" after a question about annual leave. The same mix is wrong for a new topic:
after two questions about a price list, "내일 부산 날씨 어때요?" searched with them still finds
the price list (the history's words do the finding) and the generator answers from it. Asked
alone, the same question finds nothing and gets the honest "not in the documents".

The rule, measured on the follow-up and topic-change conversations of ``benchmarks/followup.py``:
a turn is a **topic change** when it does not refer back to the conversation (no pronoun or
demonstrative that points at something said before, no continuing conjunction or opener:
:func:`refers_back`) and, searched alone, it retrieves nothing above the relevance floor. Such
a turn gets no passages at all, as the question asked alone would. A turn that refers back is a
follow-up whatever it finds alone ("개정안은 그걸 얼마로 올리나요?" finds nothing alone and its
answer with the conversation), and a turn that finds something alone is on a topic the documents
cover, so the conversation is kept to rank it. Deciding by the question's words rather than by
its scores is what keeps the follow-ups' gain: on the benchmark, the elliptical follow-ups that
find nothing alone score no higher against their answer than a new topic scores against the
old passages.
"""

from __future__ import annotations

import re

from rag.text.kiwi import kiwi

# Korean words that point back: pronouns (그거, 그분, 거기), determiners (그 회사, 이 제도)
# and conjunctions that continue (그럼, 그리고). Not 여기 (the asker's own place), nor 그런데
# and 근데, which as often open a new subject; Kiwi tags the polite ending 요 as a determiner
# at times, which is why determiners are listed rather than taken by their tag.
_KOREAN_PRONOUNS = frozenset(
    {"그", "그거", "그것", "그게", "그분", "그녀", "그들", "거기", "그곳", "이거", "이것", "이분"}
    | {"저거", "저것", "저분", "이곳", "저곳"}
)
_KOREAN_DETERMINERS = frozenset({"그", "이", "저", "그런", "이런", "저런", "그러한", "이러한"})
_KOREAN_CONJUNCTIONS = frozenset({"그럼", "그러면", "그리고", "그렇다면", "또", "또한"})
_ENGLISH_REFERENCES = re.compile(
    r"\b(it|its|that|this|these|those|they|them|their|he|him|his|she|her|same|also)\b"
    r"|^\s*(and|then|so|what about|how about)\b",
    re.IGNORECASE,
)
# Words of the same form that point at nothing said: the "it" of weather, time and judgement
# ("Will it be sunny", "Is it better to"), and "this" or "that" with a time ("this year").
_NOT_REFERENCES = re.compile(
    r"\bit(\s+is|\s+was|'s|\s+be|\s+will\s+be)?\s+(going\s+to|better|best|worse|possible|"
    r"okay|ok|safe|worth|true|necessary|normal|sunny|cloudy|windy|cold|hot|warm|raining|"
    r"snowing|rain|snow|late|early|time)\b"
    r"|\b(this|that|these|next|last)\s+(year|week|weekend|month|morning|afternoon|evening|"
    r"night|time|season|summer|winter|spring|fall|autumn)s?\b",
    re.IGNORECASE,
)


def refers_back(question: str) -> bool:
    """Whether ``question`` points at the conversation before it (see the module docstring)."""
    if _ENGLISH_REFERENCES.search(_NOT_REFERENCES.sub(" ", question)):
        return True
    with kiwi() as analyzer:
        tokens = analyzer.tokenize(question)
    for token in tokens:
        tag, form = token.tag, token.form
        if (
            (tag == "NP" and form in _KOREAN_PRONOUNS)
            or (tag == "MM" and form in _KOREAN_DETERMINERS)
            or (tag == "MAJ" and form in _KOREAN_CONJUNCTIONS)
        ):
            return True
    return False

"""The access canary: a restricted document whose every sentence is an exact query for it.

Whoever may not read it must never see it, whatever mode, query or surface asks.
"""

from __future__ import annotations

import json
from pathlib import Path

CANARY = (
    "프로젝트 푸른고래의 출시 코드는 VIOLET-HARBOR-7492이며 출시일은 2027년 3월 14일이다. "
    "The launch code of project Blue Whale is VIOLET-HARBOR-7492, released on 14 March 2027. "
    "예산은 삼십억 원이고 담당 임원은 한서윤 상무이다."
)


def canary_queries() -> list[str]:
    """Exact quotes of the canary: each sentence, and every 6-word window."""
    sentences = [s.strip() + "." for s in CANARY.split(". ") if s.strip(". ")]
    words = CANARY.split()
    windows = [" ".join(words[i : i + 6]) for i in range(0, len(words) - 5, 3)]
    return [CANARY, *sentences, *windows]


def write_canary_queries(path: Path) -> Path:
    """An ``eval`` dataset of the first four canary queries, each with the canary as gold."""
    path.write_text(
        "\n".join(
            json.dumps({"query": q, "relevant": ["launch.md"]}, ensure_ascii=False)
            for q in canary_queries()[:4]
        ),
        encoding="utf-8",
    )
    return path

"""Trimming a long conversation to the prompt budget: priced once per message, against the old way.

A chat request may carry its whole conversation; the prompt budget keeps the newest exchanges
that fit. The baseline is the trimming of d3d1f84 (``devkit.budget_baseline``), which measured
the whole prompt again after each exchange it dropped; ours prices each message once, newest
first, only as far back as fits. Both run in this process on the same prompts: Llama-3's real
tokenizer and template (the offline tiny LLaVA-NeXT's), the default budget of 8,192 tokens, five
passages of about 256 tokens, and a conversation of alternating questions and answers (about
30 and 1,900 characters of Korean and English). Both must keep the same turns; the run stops if
they do not.

Usage:
    python -m benchmarks.prompt_budget [--messages 40 80 160 600] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import date
from pathlib import Path

from langchain_core.documents import Document
from langchain_core.messages import AIMessage, HumanMessage

from devkit.budget_baseline import quadratic_fit
from devkit.machine import describe
from devkit.models import GENERATOR_MODEL
from rag.generation.budget import PromptBudget
from rag.generation.llm import load_processor
from rag.generation.prompt import history_messages

RESULTS = Path(__file__).parent / "results" / "prompt_budget.json"
BUDGET = 8192
QUESTION = "그럼 입사 첫해의 병가는 며칠까지 유급인가요?"
PASSAGE = (
    "연차 휴가는 입사 첫해에 최대 11일까지 쓸 수 있으며, 남은 휴가는 다음 해로 넘길 수 "
    "없습니다. Annual leave needs a team lead's approval two weeks ahead. "
)
ASKED = ["연차 휴가는 며칠인가요?", "How long must passwords be?", "출장 경비는 언제 청구하나요?"]
ANSWERED = (
    "규정에 따르면 입사 첫해에는 최대 11일입니다 [1]. Passwords need at least 14 characters "
    "and change every 180 days [2]. 출장 경비는 귀국 후 일주일 안에 영수증과 함께 청구합니다. "
) * 8


def conversation(messages: int) -> list[HumanMessage | AIMessage]:
    turns = [
        HumanMessage(content=ASKED[i // 2 % len(ASKED)])
        if i % 2 == 0
        else AIMessage(content=ANSWERED)
        for i in range(messages)
    ]
    return history_messages(turns)


def timed(fit, rounds: int) -> tuple[float, list]:  # noqa: ANN001  (either trimming)
    seconds, kept = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        kept = fit().history
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, nargs="+", default=[40, 80, 160, 600])
    parser.add_argument("--rounds", type=int, default=3, help="median over rounds")
    parser.add_argument("--baseline-rounds", type=int, default=1, help="(the baseline is slow)")
    args = parser.parse_args()

    machine = describe()
    budget = PromptBudget.from_processor(load_processor(GENERATOR_MODEL), BUDGET)
    documents = [
        Document(page_content=PASSAGE * 4, metadata={"source": f"/docs/{i}.md", "page": None})
        for i in range(5)
    ]
    budget.prices_add_up  # noqa: B018  (checked once per budget, not per request)
    rows = []
    print("| messages | kept | baseline s | priced once s | speed-up |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for messages in args.messages:
        history = conversation(messages)
        new_s, new_kept = timed(
            lambda: budget.fit(QUESTION, documents, history=history),  # noqa: B023
            args.rounds,
        )
        old_s, old_kept = timed(
            lambda: quadratic_fit(budget, QUESTION, documents, history=history),  # noqa: B023
            args.baseline_rounds,
        )
        if new_kept != old_kept:
            raise SystemExit(f"{messages} messages: the two trimmings kept different turns")
        row = {
            "messages": messages,
            "kept": len(new_kept),
            "baseline s": round(old_s, 3),
            "priced once s": round(new_s, 4),
            "speed-up": round(old_s / new_s, 1),
        }
        rows.append(row)
        print(" | ".join(f"{value}" for value in row.values()).join(["| ", " |"]), flush=True)
    report = {
        "benchmark": "prompt_budget",
        "command": "python -m benchmarks.prompt_budget",
        "machine": machine,
        "date": date.today().isoformat(),
        "baseline": "the trimming of d3d1f84 (devkit.budget_baseline): the whole prompt "
        "measured again per dropped exchange, same process, same prompts",
        "results": rows,
    }
    RESULTS.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

"""How fast the worker refuses a huge message, against encoding it first, in the same run.

A 20-40 MB chat message is far over any prompt limit. The worker refuses it from a floor on its
length (characters of text over the longest token in the vocabulary) before any image is
decoded or any text tokenized; the baseline is what the worker did before: encode the prompt
(tokenizing all of it) and only then compare the exact count with the limit. Both run on the
same machine in the same process: the refusal over real HTTP against the real worker
(uvicorn), the baseline as the same ``ChatBllossom.encode`` call the worker used to make.

Reported per size: the refusal's wall time (client side, upload included) and the worker's RSS
growth, and the baseline's encode time and peak RSS growth.

Usage:
    python -m benchmarks.worker_limits --model DIR [--sizes-mb 20 40] [--baseline-mb 20]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import httpx
from langchain_core.messages import HumanMessage

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.generation.llm import ChatBllossom  # noqa: E402
from serve.http.server import BackgroundServer  # noqa: E402
from serve.worker import WorkerOptions, create_app  # noqa: E402

WORDS = "연차 휴가 신청 절차 annual leave request "  # Korean and English, 40 characters


def rss_mb() -> float:
    """The resident set size of the process (client and worker both), MB."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


def peak_mb() -> float:
    """The peak resident set size of the process so far, MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def text_of(megabytes: int) -> str:
    repeats = megabytes * 2**20 // len(WORDS.encode())
    return WORDS * repeats


def refusal(url: str, text: str) -> dict[str, float | int | str]:
    body = json.dumps({"messages": [{"role": "user", "content": text}]}, ensure_ascii=False)
    before = rss_mb()
    start = time.perf_counter()
    answer = httpx.post(
        f"{url}/v1/chat/completions",
        content=body.encode(),
        headers={"Content-Type": "application/json"},
        timeout=600,
    )
    seconds = time.perf_counter() - start
    return {
        "status": answer.status_code,
        "seconds": round(seconds, 3),
        "rss_growth_mb": round(rss_mb() - before, 1),
        "message": answer.json()["error"]["message"][:90],
    }


def baseline(llm: ChatBllossom, text: str) -> dict[str, float | int]:
    before = peak_mb()
    start = time.perf_counter()
    prompt = llm.encode([HumanMessage(content=text)])
    seconds = time.perf_counter() - start
    return {
        "prompt_tokens": prompt.token_count,
        "seconds": round(seconds, 1),
        "peak_rss_growth_mb": round(peak_mb() - before, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="generator folder (tiny-llava-next)")
    parser.add_argument("--sizes-mb", type=int, nargs="+", default=[20, 40])
    parser.add_argument("--baseline-mb", type=int, nargs="*", default=[20])
    args = parser.parse_args()

    llm = ChatBllossom(model_name=args.model, device="cpu", max_new_tokens=8)
    options = WorkerOptions(model_id="bench", max_body_bytes=64 * 2**20)
    refusals: dict[str, dict[str, float | int | str]] = {}
    baselines: dict[str, dict[str, float | int]] = {}
    with BackgroundServer(create_app(llm, options)) as server:
        while httpx.get(f"{server.url}/health").status_code != 200:
            time.sleep(0.1)
        for size in args.sizes_mb:
            refusals[f"{size} MB"] = refusal(server.url, text_of(size))
    for size in args.baseline_mb:  # last: its memory stays with the process
        baselines[f"{size} MB"] = baseline(llm, text_of(size))
    report = {"refusal": refusals, "baseline_encode": baselines}
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()

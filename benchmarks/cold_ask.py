"""A cold ``bllossom-rag ask`` from the terminal: loading models in-process against a RAG API.

Every run is a new ``bllossom-rag ask`` process, as a user types it, over ``examples/`` ingested
into a fresh data folder, timed from start to exit:

- **in-process (baseline)**: ``ask --local``: the process loads the embedder, the keyword
  analyzer and the generator, retrieves and answers (what every ``ask`` did before);
- **API configured**: ``[cli] api_url`` points at a running ``bllossom-rag api`` over the same
  store; the process sends the question and prints the streamed answer and sources;
- **API found**: no setting; the process finds the API at ``[api] port`` on this machine and
  checks it serves this store (two more small requests) before sending the question.

The runs alternate (baseline, configured, found, baseline, ...) so all three meet the same
moments of a shared machine; the first round warms the file cache and is not counted. Reported:
the median and the spread (min-max) of the counted rounds, and the ratio of medians to the
baseline. The models are the offline ones (``.models/``: e5-small and the tiny random-weight
LLaVA-NeXT), which load in seconds; Bllossom-Vision's 16 GB take far longer, so the in-process
column is a lower bound of what the API saves.

Usage::

    python -m benchmarks.cold_ask --rounds 6
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from devkit.models import EXAMPLES, command_environment
from devkit.served_api import served_api

QUESTION = "How long must passwords be?"
WARMUP = 1


def timed(command: list[str], env: dict[str, str]) -> float:
    """Seconds one command takes from start to exit (it must succeed)."""
    started = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(result.stdout + result.stderr)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=6, help="counted rounds (after 1 warm-up)")
    parser.add_argument("--output", type=Path, help="write the results as JSON here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        env = {
            **os.environ,
            **command_environment(root / "data"),
            "BLLOSSOM_RAG_GENERATION__MAX_NEW_TOKENS": "32",
            "BLLOSSOM_RAG_CONFIG": str(root / "none.toml"),
        }
        (root / "none.toml").write_text("", encoding="utf-8")
        subprocess.run(["bllossom-rag", "ingest", str(EXAMPLES)], env=env, check=True)
        with served_api(root, env) as url:
            port = url.rsplit(":", 1)[1]
            ask = ["bllossom-rag", "ask", QUESTION]
            systems = {
                "in-process (ask --local)": ([*ask, "--local"], env),
                "API configured ([cli] api_url)": (ask, {**env, "BLLOSSOM_RAG_CLI__API_URL": url}),
                "API found (same store, [api] port)": (
                    ask,
                    {**env, "BLLOSSOM_RAG_API__PORT": port},
                ),
            }
            times: dict[str, list[float]] = {name: [] for name in systems}
            for round_ in range(WARMUP + args.rounds):
                for name, (command, run_env) in systems.items():
                    seconds = timed(command, run_env)
                    if round_ >= WARMUP:
                        times[name].append(seconds)
                print(
                    f"round {round_ + 1}: " + ", ".join(f"{v[-1]:.1f}" for v in times.values() if v)
                )
    baseline = statistics.median(times["in-process (ask --local)"])
    rows = [
        {
            "system": name,
            "median_s": round(statistics.median(found), 2),
            "min_s": round(min(found), 2),
            "max_s": round(max(found), 2),
            "ratio": round(statistics.median(found) / baseline, 3),
        }
        for name, found in times.items()
    ]
    print(f"\n{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs")
    print("| system | median s | min-max s | ratio |")
    print("| --- | ---: | ---: | ---: |")
    for row in rows:
        print(
            f"| {row['system']} | {row['median_s']:.2f} | {row['min_s']:.2f}-{row['max_s']:.2f} "
            f"| {row['ratio']:.2f} |"
        )
    if args.output:
        args.output.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()

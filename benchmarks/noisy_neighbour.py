"""One key's latency while another floods the RAG API, and what each crafted request costs now.

**Noisy neighbour.** A quiet key asks an ordinary question, one request after another, while a
noisy key keeps ``--noisy`` requests in flight. Three phases on the same store, models and
machine, in one run:

- ``idle``: the quiet key alone (today's limits);
- ``flood, limits of c5cd1e8``: the server as it was before issue 26 in what it admits (a
  question of up to 2 MB; one line for every caller, first come first served, so one key may
  take every slot), the noisy key sending questions of
  ``--before-chars`` characters (the old cap was 2 MB; smaller here so the phase ends in
  minutes). History is trimmed in linear time in both floods, so this understates the old
  server: with its quadratic trimming, a long conversation alone took minutes
  (``prompt_budget``);
- ``flood, today``: today's defaults, the noisy key sending the costliest chat the API accepts:
  a 4,000-character question after 49 earlier turns of 16,000 characters.

The answer is scripted (``[generation] scripted_answer``), so each request costs its retrieval,
its prompt and its bookkeeping, not a model's tokens. The server runs in this process
(uvicorn on a thread), as in the tests. Reported per phase: the quiet key's median and p95
seconds, its p95 over the idle p95, and the statuses both keys got.

**Crafted requests.** Each request of the second hostile review, sent once to today's server
(and ``/v1/embeddings`` to a worker serving the embedder): wall time at the client, growth of
this process's peak RSS, and the answer's status and message.

Usage:
    python -m benchmarks.noisy_neighbour [--quiet-requests 12] [--noisy 4] [--before-chars 50000]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from devkit.machine import describe
from devkit.models import EMBEDDING_MODEL, EXAMPLES, GENERATOR_MODEL
from ingest.pipeline import Ingestor
from rag.assistant import Assistant
from rag.config import Settings
from rag.embeddings.torch import SentenceTransformerEmbeddings
from rag.generation.llm import ChatBllossom
from rag.store import Store
from serve.api import ApiOptions, create_app
from serve.http.admission import Admission, Slot
from serve.http.server import BackgroundServer
from serve.worker import WorkerOptions
from serve.worker import create_app as worker_app

RESULTS = Path(__file__).parent / "results" / "noisy_neighbour.json"
QUIET, NOISY = "key-quiet-7f3a91bc2e4d", "key-noisy-91bc2e4d7f3a"
KEYS = {QUIET: (), NOISY: ()}
QUESTION = "입사 첫해에는 연차 휴가를 최대 며칠까지 쓸 수 있나요?"
WORDS = "연차 휴가 신청 절차와 병가 규정 annual leave "  # 40 characters
OLD_CAP = 2_000_000  # characters a question could have under c5cd1e8's 2 MB limit


def text(chars: int) -> str:
    return (WORDS * (chars // len(WORDS) + 1))[:chars]


def worst_chat_today() -> list[dict[str, str]]:
    """The costliest conversation today's defaults accept: 50 messages at their limits."""
    earlier = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": text(16_000)} for i in range(49)
    ]
    return [*earlier, {"role": "user", "content": text(4_000)}]


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build(root: Path, embeddings: SentenceTransformerEmbeddings) -> Path:
    settings = Settings(data_dir=root / "data", embedding={"model": EMBEDDING_MODEL})
    with Store(settings.data_dir) as store:
        Ingestor.from_settings(settings, store, embeddings).ingest(
            [EXAMPLES], collection="handbook"
        )
    return settings.data_dir


class FirstComeFirstServed(Admission):
    """Admission as it was before issue 26: every caller in one line, whatever its key."""

    async def acquire(self, key: str = "") -> Slot:
        """A slot for whoever came first."""
        return await super().acquire("")


@contextmanager
def api(
    data: Path, conversation: dict[str, int], *, as_before: bool = False, **limits: Any
) -> Iterator[str]:
    assistant = Assistant(
        Settings(
            data_dir=data,
            device="cpu",
            embedding={"model": EMBEDDING_MODEL},
            generation={"model": GENERATOR_MODEL, "scripted_answer": "{1} [1]"},
            conversation=conversation,
        )
    )
    options = ApiOptions(keys=KEYS, **limits)
    app = create_app(assistant, options)
    if as_before:
        app.state.service.admission = FirstComeFirstServed(
            options.max_concurrency, options.max_queue
        )
    server = BackgroundServer(app).start()
    try:
        while httpx.get(f"{server.url}/health", timeout=120).status_code != 200:
            time.sleep(0.5)  # the models load in the background
        chat(server.url, QUIET, [{"role": "user", "content": QUESTION}]).raise_for_status()
        yield server.url
    finally:
        server.stop()
        assistant.close()


def chat(url: str, key: str, messages: list[dict[str, str]]) -> httpx.Response:
    return httpx.post(
        f"{url}/v1/chat/completions",
        headers={"Authorization": f"Bearer {key}"},
        json={"model": "handbook", "messages": messages},
        timeout=900,
    )


def phase(url: str, noisy: list[dict[str, str]] | None, args: argparse.Namespace) -> dict:
    """The quiet key's latencies while ``args.noisy`` copies of ``noisy`` are kept in flight."""
    stop = threading.Event()
    noisy_statuses: Counter[int | str] = Counter()

    def flood() -> None:
        while not stop.is_set():
            try:
                noisy_statuses[chat(url, NOISY, noisy).status_code] += 1  # type: ignore[arg-type]
            except httpx.TransportError as error:  # counted: what the noisy client saw
                noisy_statuses[type(error).__name__] += 1

    flooders = [threading.Thread(target=flood) for _ in range(args.noisy if noisy else 0)]
    for flooder in flooders:
        flooder.start()
    if flooders:
        running = lambda: httpx.get(f"{url}/health", timeout=120).json()["running"]  # noqa: E731
        while running() == 0:  # the flood has begun
            time.sleep(0.05)
        time.sleep(1.0)
    seconds: list[float] = []
    statuses: Counter[int] = Counter()
    for _ in range(args.quiet_requests):
        started = time.perf_counter()
        answer = chat(url, QUIET, [{"role": "user", "content": QUESTION}])
        seconds.append(time.perf_counter() - started)
        statuses[answer.status_code] += 1
    stop.set()
    for flooder in flooders:
        flooder.join()
    ordered = sorted(seconds)
    return {
        "p50 s": round(statistics.median(ordered), 2),
        "p95 s": round(ordered[round(0.95 * (len(ordered) - 1))], 2),
        "quiet statuses": dict(statuses),
        "noisy statuses": dict(noisy_statuses),
    }


def crafted(name: str, send: Callable[[], tuple[int, str]]) -> dict:
    before, started = peak_mb(), time.perf_counter()
    status, message = send()
    return {
        "request": name,
        "wall s": round(time.perf_counter() - started, 2),
        "peak RSS growth MB": round(peak_mb() - before),
        "result": f"{status} {message}"[:300],
    }


def outcome(response: httpx.Response) -> tuple[int, str]:
    if response.status_code == 200:
        return 200, "answered"
    return response.status_code, response.json()["error"]["message"]


def crafted_requests(url: str, embeddings: SentenceTransformerEmbeddings) -> list[dict]:
    quiet = {"Authorization": f"Bearer {QUIET}"}
    rows = [
        crafted(
            "/v1/retrieve, a 2 MB question",
            lambda: outcome(
                httpx.post(
                    f"{url}/v1/retrieve",
                    headers=quiet,
                    json={"collection": "handbook", "query": text(OLD_CAP)},
                    timeout=900,
                )
            ),
        ),
        crafted(
            "chat, a 1.9 MB question",
            lambda: outcome(chat(url, QUIET, [{"role": "user", "content": text(1_900_000)}])),
        ),
        crafted(
            "chat, 600 messages of history",
            lambda: outcome(
                chat(
                    url,
                    QUIET,
                    [
                        {"role": "user" if i % 2 == 0 else "assistant", "content": QUESTION}
                        for i in range(600)
                    ],
                )
            ),
        ),
        crafted(
            "chat, the costliest accepted: 49 turns of 16,000 characters and a 4,000-character "
            "question",
            lambda: outcome(chat(url, QUIET, worst_chat_today())),
        ),
        crafted(
            "/v1/retrieve of a collection the key cannot read",
            lambda: outcome(
                httpx.post(
                    f"{url}/v1/retrieve",
                    headers=quiet,
                    json={"collection": "hr", "query": QUESTION},
                )
            ),
        ),
    ]
    llm = ChatBllossom(model_name=GENERATOR_MODEL, device="cpu", max_new_tokens=8)
    options = WorkerOptions(model_id="tiny", api_key=QUIET)
    with BackgroundServer(worker_app(llm, options, embeddings)) as worker:

        def embed(inputs: list[str]) -> tuple[int, str]:
            return outcome(
                httpx.post(
                    f"{worker.url}/v1/embeddings",
                    headers=quiet,
                    json={"input": inputs},
                    timeout=900,
                )
            )

        embed(["warm"])
        rows.append(crafted("/v1/embeddings, one 1 MB input", lambda: embed([text(2**20)])))
        rows.append(
            crafted(
                "/v1/embeddings, the most accepted: 32 inputs of 32,768 characters",
                lambda: embed([text(32_768)] * 32),
            )
        )

    def empty_key() -> tuple[int, str]:
        try:
            Settings(api={"keys": {"": ["hr"]}})
        except ValueError as error:
            return 0, str(error).splitlines()[2].strip()
        return 0, "accepted"

    rows.append(crafted('[api] keys = {"" = ["hr"]} (an unset variable)', empty_key))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quiet-requests", type=int, default=12)
    parser.add_argument("--noisy", type=int, default=4, help="noisy requests kept in flight")
    parser.add_argument("--before-chars", type=int, default=50_000)
    parser.add_argument("--skip-crafted", action="store_true")
    args = parser.parse_args()
    machine = describe()
    embeddings = SentenceTransformerEmbeddings.load(EMBEDDING_MODEL, device="cpu")
    lifted = {"max_question_chars": OLD_CAP, "max_turn_chars": OLD_CAP, "max_turns": 10_000}
    with tempfile.TemporaryDirectory() as root:
        data = build(Path(root), embeddings)
        rows = []
        with api(data, {}) as url:
            rows.append({"phase": "idle", **phase(url, None, args)})
        with api(data, lifted, as_before=True, max_message_chars=OLD_CAP) as url:
            old = [{"role": "user", "content": text(args.before_chars)}]
            rows.append({"phase": "flood, limits of c5cd1e8", **phase(url, old, args)})
        with api(data, {}) as url:
            rows.append({"phase": "flood, today", **phase(url, worst_chat_today(), args)})
            crafted_rows = [] if args.skip_crafted else crafted_requests(url, embeddings)
    idle_p95 = rows[0]["p95 s"]
    for row in rows:
        row["p95 / idle p95"] = round(row["p95 s"] / idle_p95, 1)
        print(json.dumps(row, ensure_ascii=False), flush=True)
    for row in crafted_rows:
        print(json.dumps(row, ensure_ascii=False), flush=True)
    report = {
        "benchmark": "noisy_neighbour",
        "command": "python -m benchmarks.noisy_neighbour "
        f"--quiet-requests {args.quiet_requests} --noisy {args.noisy} "
        f"--before-chars {args.before_chars}",
        "machine": machine,
        "date": date.today().isoformat(),
        "baseline": "the quiet key alone (idle), and the flood under c5cd1e8's admission "
        "(2 MB questions, one first-come line for every key), same run",
        "results": rows,
        "crafted": crafted_rows,
    }
    RESULTS.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

"""What an outsider's search time says about others' ingests: the adaptive floor's cache.

A caller's first search after a commit pays for whatever that commit invalidated. The adaptive
floor (:meth:`rag.retrieval.retriever.StoreRetriever.floor`) runs a cohort of 40 off-topic
questions through the collection; cached per collection commit, it ran again after *any*
commit, so a public caller's search went from ~12 ms to ~46 ms right after another group
ingested a document the caller cannot read: a timing signal of hidden activity. Now the cache
is keyed by what the caller may read (:class:`rag.store.records.ReadableVersion`).

One store (the offline embedder, 200 public passages and 20 restricted ones), one public
caller with the adaptive floor, the same question each time. Interleaved per round:

- ``idle``: no commit since the caller's last search;
- ``hidden commit``: right after a commit of one restricted document (the caller cannot read
  it) — the view's catch-up and the readable-id recount remain, the floor is cached;
- ``hidden commit, baseline``: the same, with the floor's cache missed as the commit-keyed
  cache of c5cd1e8 missed it (the cache is cleared before the search);
- ``public commit``: right after a commit of one public document: the caller's collection did
  change, and its floor is computed again (for comparison, not a leak).

Reported: median and p95 milliseconds per case and the ratio of medians to ``idle``.

Usage:
    python -m benchmarks.floor_timing [--rounds 15]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from devkit.machine import describe
from devkit.models import EMBEDDING_MODEL
from rag.access import PUBLIC
from rag.embeddings.torch import SentenceTransformerEmbeddings
from rag.retrieval import retriever as retriever_module
from rag.retrieval.retriever import StoreRetriever
from rag.store import DocumentRecord, DocumentUpdate, NewChunk, Store

RESULTS = Path(__file__).parent / "results" / "floor_timing.json"
QUESTION = "연차 휴가는 입사 첫해에 며칠까지 쓸 수 있나요?"
TOPICS = ["연차 휴가", "출장 경비", "비밀번호", "재택 근무", "보안 교육", "노트북 암호화"]
CASES = ["idle", "hidden commit", "hidden commit, baseline", "public commit"]


def passage(i: int) -> str:
    topic = TOPICS[i % len(TOPICS)]
    return f"{topic} 규정 제{i}조: {topic}에 관한 {i}번째 안내입니다. 신청은 {i % 28 + 1}일 전까지."


class Corpus:
    """The store, and a commit of one new document at a time."""

    def __init__(self, folder: Path, embeddings: SentenceTransformerEmbeddings) -> None:
        self.store = Store(folder)
        self.embeddings = embeddings
        self.store.ensure_collection("c", embeddings.name, embeddings.dimension)
        groups = [("hr",) if i % 11 == 10 else () for i in range(220)]
        self.store.commit("c", [self.update(i, groups[i]) for i in range(220)])
        self.added = 220

    def update(self, number: int, groups: tuple[str, ...]) -> DocumentUpdate:
        """Document ``number``, of ``groups``: one passage."""
        doc_id, text = f"doc-{number}", passage(number)
        [vector] = self.embeddings.encode_documents([text])
        record = DocumentRecord(doc_id, "c", f"/docs/{doc_id}.md", doc_id, 1, 0.0, groups)
        return DocumentUpdate(record, [NewChunk(f"{doc_id}-0", 0, text, 16, vector)])

    def commit(self, groups: tuple[str, ...]) -> None:
        """Add one document of ``groups`` in a commit of its own."""
        self.store.commit("c", [self.update(self.added, groups)])
        self.store.refresh("c")
        self.added += 1


def timed_ms(search: Callable[[], object]) -> float:
    started = time.perf_counter()
    search()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    machine = describe()
    embeddings = SentenceTransformerEmbeddings.load(EMBEDDING_MODEL, device="cpu")
    seconds: dict[str, list[float]] = {case: [] for case in CASES}
    with tempfile.TemporaryDirectory() as folder:
        corpus = Corpus(Path(folder), embeddings)
        outsider = StoreRetriever(
            store=corpus.store,
            embeddings=embeddings,
            collection="c",
            access=PUBLIC,
            min_relevance=0.05,  # the default of [retrieval]
        )
        search = lambda: outsider.invoke(QUESTION)  # noqa: E731
        for _ in range(3):
            search()  # warm: models, views, the floor
        for _ in range(args.rounds):
            search()
            seconds["idle"].append(timed_ms(search))
            corpus.commit(("hr",))
            seconds["hidden commit"].append(timed_ms(search))
            corpus.commit(("hr",))
            retriever_module._FLOORS.clear()  # the commit-keyed cache: a miss on every commit
            seconds["hidden commit, baseline"].append(timed_ms(search))
            corpus.commit(())
            seconds["public commit"].append(timed_ms(search))
        corpus.store.close()
    idle = statistics.median(seconds["idle"])
    rows = []
    print("| case | median ms | p95 ms | x idle |")
    print("| --- | ---: | ---: | ---: |")
    for case in CASES:
        values = sorted(seconds[case])
        median = statistics.median(values)
        row = {
            "case": case,
            "median ms": round(median, 1),
            "p95 ms": round(values[int(0.95 * (len(values) - 1))], 1),
            "x idle": round(median / idle, 2),
        }
        rows.append(row)
        print(" | ".join(str(value) for value in row.values()).join(["| ", " |"]), flush=True)
    report = {
        "benchmark": "floor_timing",
        "command": f"python -m benchmarks.floor_timing --rounds {args.rounds}",
        "machine": machine,
        "date": date.today().isoformat(),
        "baseline": "the floor's cache keyed by the collection's last commit (c5cd1e8), "
        "emulated by clearing it before the search; and the same caller with no commit",
        "results": rows,
    }
    RESULTS.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

"""Follow-up questions: recall@5 of a chat turn searched with its history, alone, and in full.

Data: ``benchmarks/followups.jsonl``, 60 two-turn conversations written for this benchmark, 32
over KorQuAD 1.0 dev articles, 8 over ``examples/`` and 20 (16 Korean, 4 English) over the
statute and bills of ``benchmarks/data/legal``. Each has a first question (``history``,
a KorQuAD question as published or a handbook question), an elliptical follow-up (``query``:
"그럼 영화 데뷔작은요?", "What about the Enterprise plan?"), the same follow-up asked in full
(``full``: the original KorQuAD question, or the handbook question with its subject spelled
out) and its gold passage (``relevant``: a verbatim snippet around the answer, found in exactly
one passage). For KorQuAD the two questions come from different paragraphs of one article, so
the first question's own paragraph is a strong distractor for the follow-up.

Corpus: the 964 KorQuAD dev paragraphs plus the ``examples/`` files cut at blank lines, one
passage each, in one collection (so a handbook follow-up competes with a thousand passages);
the legal texts in a collection of their own, ingested as a user would (the real loaders and
the structure-aware chunker at the default settings), where every chunk is about the same law
and the first question's article is the follow-up's nearest distractor.

Methods, all hybrid retrieval with the default settings:

- **alone**: the follow-up searched by itself (``query_rewrite = "off"``), the baseline;
- **mix**: the follow-up with the first turn (``query_rewrite = "mix"``, the default: dense
  over the weighted sum of the turns' embeddings, keywords at the squared weights);
- **joined text**: the two turns' text searched as one query (one embedding of the whole), the
  obvious alternative to mixing;
- **asked in full**: the full question alone, the target (within 5 points).

The last two rows repeat mix and full with the default relevance floor (``min_relevance``,
adaptive), as the chat, the UI and the API search: a follow-up whose gold passage the floor
drops is a miss.

``--decays`` adds mix rows for other ``history_decay`` values. Vectors are cached on disk like
``retrieval.py``'s, so a rerun embeds nothing new.

**Topic changes** (a second table): ``benchmarks/topic_changes.jsonl`` holds 60 conversations
written for it, each a first question (and half of them its follow-up) from the set above, then
a question on another subject (weather, cooking, sport, shopping; 40 Korean, 20 English, none
from the relevance floor's own cohort in ``benchmarks/data/offtopic.json``), split 30 dev and
30 test. Every turn goes through the chain's own retrieval step (:func:`~rag.generation.chain.
build_retrieval`, default settings, adaptive floor) with the rule of
:mod:`rag.retrieval.topic_change` off (the baseline) and on. A topic change counts when its
question asked alone is refused (the honest answer is then "not in the documents"; KorQuAD
answers some of them, e.g. about 손흥민); it is *refused* when the turn gets no passages. The
follow-ups are split too (even lines dev, odd test) and score recall@5 the same way.

Usage::

    python -m benchmarks.followup
    python -m benchmarks.followup --decays 0.3 0.5 0.7 --modes dense bm25 hybrid
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from langchain_core.documents import Document
from langchain_core.messages import HumanMessage

from benchmarks.retrieval import (
    CACHE,
    COLLECTION,
    DATASETS,
    CachedEmbeddings,
    EvalQuery,
    Task,
    build_store,
)
from ingest.pipeline import Ingestor
from rag.config import Settings
from rag.embeddings.torch import SentenceTransformerEmbeddings
from rag.evaluation.retrieval import Scores, first_ranks, squad_dataset
from rag.generation.chain import build_retrieval
from rag.retrieval.followup import FollowUps
from rag.retrieval.retriever import StoreRetriever
from rag.store import Store

ROOT = Path(__file__).resolve().parents[1]
CONVERSATIONS = ROOT / "benchmarks" / "followups.jsonl"
TOPIC_CHANGES = ROOT / "benchmarks" / "topic_changes.jsonl"
SPLITS = ("dev", "test")
LEGAL = ROOT / "benchmarks" / "data" / "legal"
CORPORA = ("korquad", "examples", "legal")
K = 5


def corpus() -> list[str]:
    """KorQuAD dev's paragraphs, then every ``examples/`` file cut at blank lines."""
    squad = json.loads((DATASETS / "KorQuAD_v1.0_dev.json").read_text("utf-8"))
    passages = [p.text for p in squad_dataset(squad, name="korquad").passages]
    for path in sorted((ROOT / "examples").rglob("*")):
        if path.is_file():
            text = path.read_text("utf-8")
            passages += [part.strip() for part in text.split("\n\n") if part.strip()]
    return passages


def conversations(path: Path = CONVERSATIONS) -> list[dict]:
    """The benchmark's conversations, one JSON object a line."""
    lines = path.read_text("utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def chain_documents(retriever: StoreRetriever, item: dict, *, topic_changes: bool) -> list:
    """What the chain's retrieval step gives the conversation's last turn."""
    step = build_retrieval(retriever, FollowUps(topic_changes=topic_changes))
    history = [HumanMessage(content=text) for text in item["history"]]
    return step.invoke({"question": item["query"], "history": history})["documents"]


def topic_change_rows(floored: dict[str, StoreRetriever]) -> list[dict]:
    """Per split: follow-ups' recall@5 and topic changes refused, without and with the rule."""
    follow_ups = conversations()
    changes = conversations(TOPIC_CHANGES)
    rows = []
    for split in SPLITS:
        items = [item for i, item in enumerate(follow_ups) if SPLITS[i % 2] == split]
        topics = [
            item
            for item in changes
            if item["split"] == split and not floored[item["corpus"]].invoke(item["query"])
        ]
        _, alone, _ = recall(items, lambda item: floored[item["corpus"]].invoke(item["query"]))
        for rule in (False, True):
            _, r5, _ = recall(
                items,
                lambda item, rule=rule: chain_documents(
                    floored[item["corpus"]], item, topic_changes=rule
                ),
            )
            refused = sum(
                not chain_documents(floored[item["corpus"]], item, topic_changes=rule)
                for item in topics
            )
            rows.append(
                {
                    "split": split,
                    "topic_changes": "on" if rule else "off (baseline)",
                    "follow-ups R@5": round(r5, 3),
                    "follow-ups R@5 asked alone": round(alone, 3),
                    "follow-ups": len(items),
                    "topic changes refused": round(refused / len(topics), 3),
                    "topic changes": len(topics),
                    "of written": sum(item["split"] == split for item in changes),
                }
            )
    return rows


def recall(
    items: Sequence[dict], search: Callable[[dict], Sequence[Document]]
) -> tuple[float, float, list[bool]]:
    """Recall@1 and @5 of ``search`` over the conversations, and which ones were found."""
    scores = Scores()
    found = []
    for item in items:
        ranks = first_ranks(EvalQuery(item["query"], tuple(item["relevant"])), search(item)[:10])
        scores.add(ranks, 0.0)
        found.append(ranks[0] is not None and ranks[0] <= K)
    summary = scores.summary()
    return summary["recall@1"], summary["recall@5"], found


def ingest_legal(store: Store, embeddings: SentenceTransformerEmbeddings) -> None:
    """The statute and bills into collection ``legal``, chunked as ``ingest`` chunks them."""
    settings = Settings()
    Ingestor(
        store,
        embeddings,
        chunk_tokens=settings.ingest.chunk_tokens,
        chunk_overlap=settings.ingest.chunk_overlap,
        max_file_bytes=settings.ingest.max_file_bytes,
    ).ingest(sorted(LEGAL.glob("*.txt")), collection="legal")


def methods(
    retrievers: dict[str, StoreRetriever], decays: Sequence[float], floor: float
) -> dict[str, Callable]:
    """Name -> a search taking one conversation (each searched in its corpus's collection)."""
    floored = {c: r.model_copy(update={"min_relevance": floor}) for c, r in retrievers.items()}

    def with_history(followups: FollowUps, pool: dict = retrievers) -> Callable[[dict], list]:
        def search(item: dict) -> list[Document]:
            history = [HumanMessage(content=text) for text in item["history"]]
            query = followups.query(item["query"], history)
            return pool[item["corpus"]].invoke(query.text, turns=query.turns)

        return search

    def asked(field: str, pool: dict = retrievers) -> Callable[[dict], list[Document]]:
        return lambda item: pool[item["corpus"]].invoke(item[field])

    rows: dict[str, Callable] = {"alone (baseline)": asked("query")}
    for decay in decays:
        label = "mix (default)" if decay == FollowUps().decay else f"mix, decay {decay:g}"
        rows[label] = with_history(FollowUps(mode="mix", decay=decay))
    rows["joined text, one embedding"] = lambda item: retrievers[item["corpus"]].invoke(
        "\n".join([*item["history"], item["query"]])
    )
    rows["asked in full (target)"] = asked("full")
    rows[f"mix, adaptive relevance floor {floor:g}"] = with_history(FollowUps(), floored)
    rows[f"asked in full, adaptive relevance floor {floor:g}"] = asked("full", floored)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="embedder folder (default: the offline e5-small)")
    parser.add_argument("--decays", type=float, nargs="+", default=[0.5])
    parser.add_argument("--modes", nargs="+", default=["hybrid"])
    args = parser.parse_args()
    default_model = Path(os.environ.get("OFFLINE_MODELS_DIR", "")) / "multilingual-e5-small"
    model = args.model or os.environ.get("BLLOSSOM_RAG_EMBEDDING__MODEL") or str(default_model)
    embeddings = CachedEmbeddings(SentenceTransformerEmbeddings.load(model, device="cpu"), CACHE)
    items = conversations()
    passages = corpus()
    print(f"{len(items)} conversations, {len(passages)} passages", flush=True)
    sizes = {c: sum(item["corpus"] == c for item in items) for c in CORPORA}
    columns = " | ".join(f"R@5 {c} ({n})" for c, n in sizes.items())
    print(f"| mode | method | R@1 | R@5 | {columns} |")
    print("| --- | --- | --- | --- |" + " --- |" * len(sizes))
    with (
        tempfile.TemporaryDirectory() as folder,
        build_store(Task("followups", passages, []), embeddings, Store(Path(folder))) as store,
    ):
        ingest_legal(store, embeddings)
        for mode in args.modes:
            retrievers = {
                corpus: StoreRetriever(
                    store=store, embeddings=embeddings, collection=collection, k=10, mode=mode
                )
                for corpus, collection in zip(
                    CORPORA, (COLLECTION, COLLECTION, "legal"), strict=True
                )
            }
            floor = Settings().retrieval.min_relevance
            for name, search in methods(retrievers, args.decays, floor).items():
                r1, r5, found = recall(items, search)
                parts = [
                    sum(hit for hit, item in zip(found, items, strict=True) if item["corpus"] == c)
                    / n
                    for c, n in sizes.items()
                ]
                cells = " | ".join(f"{part:.3f}" for part in parts)
                print(f"| {mode} | {name} | {r1:.3f} | {r5:.3f} | {cells} |", flush=True)
            if mode == "hybrid":
                floored = {
                    c: r.model_copy(update={"k": K, "min_relevance": floor})
                    for c, r in retrievers.items()
                }
                print(
                    "\n| split | topic_changes | follow-ups R@5 (alone) | topic changes refused |"
                )
                print("| --- | --- | --- | --- |")
                for row in topic_change_rows(floored):
                    print(
                        f"| {row['split']} ({row['follow-ups']} + {row['topic changes']}) "
                        f"| {row['topic_changes']} | {row['follow-ups R@5']:.3f} "
                        f"({row['follow-ups R@5 asked alone']:.3f}) "
                        f"| {row['topic changes refused']:.3f} |",
                        flush=True,
                    )


if __name__ == "__main__":
    main()

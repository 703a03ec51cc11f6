"""Follow-up questions: recall@5 of a chat turn searched with its history, alone, and in full.

Data: ``benchmarks/followups.jsonl``, 40 two-turn conversations written for this benchmark, 32
over KorQuAD 1.0 dev articles and 8 over ``examples/``. Each has a first question (``history``,
a KorQuAD question as published or a handbook question), an elliptical follow-up (``query``:
"그럼 영화 데뷔작은요?", "What about the Enterprise plan?"), the same follow-up asked in full
(``full``: the original KorQuAD question, or the handbook question with its subject spelled
out) and its gold passage (``relevant``: a verbatim snippet around the answer, found in exactly
one passage). For KorQuAD the two questions come from different paragraphs of one article, so
the first question's own paragraph is a strong distractor for the follow-up.

Corpus: the 964 KorQuAD dev paragraphs plus the ``examples/`` files cut at blank lines, one
passage each, in one collection (so a handbook follow-up competes with a thousand passages).

Methods, all hybrid retrieval with the default settings:

- **alone**: the follow-up searched by itself (``query_rewrite = "off"``), the baseline;
- **mix**: the follow-up with the first turn (``query_rewrite = "mix"``, the default: dense
  over the weighted sum of the turns' embeddings, keywords at the squared weights);
- **joined text**: the two turns' text searched as one query (one embedding of the whole), the
  obvious alternative to mixing;
- **asked in full**: the full question alone, the target (within 5 points).

``--decays`` adds mix rows for other ``history_decay`` values. Vectors are cached on disk like
``retrieval.py``'s, so a rerun embeds nothing new.

Usage::

    python benchmarks/followup.py
    python benchmarks/followup.py --decays 0.3 0.5 0.7 --modes dense bm25 hybrid
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
from rag.embeddings import SentenceTransformerEmbeddings
from rag.evaluation import Scores, first_ranks, squad_dataset
from rag.followup import FollowUps
from rag.retrieval import StoreRetriever
from rag.store import Store

ROOT = Path(__file__).resolve().parents[1]
CONVERSATIONS = ROOT / "benchmarks" / "followups.jsonl"
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


def conversations() -> list[dict]:
    """The benchmark's conversations, one JSON object a line."""
    lines = CONVERSATIONS.read_text("utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


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


def methods(retriever: StoreRetriever, decays: Sequence[float]) -> dict[str, Callable]:
    """Name -> a search taking one conversation."""

    def with_history(followups: FollowUps) -> Callable[[dict], list[Document]]:
        def search(item: dict) -> list[Document]:
            history = [HumanMessage(content=text) for text in item["history"]]
            query = followups.query(item["query"], history)
            return retriever.invoke(query.text, turns=query.turns)

        return search

    rows: dict[str, Callable] = {"alone (baseline)": lambda item: retriever.invoke(item["query"])}
    for decay in decays:
        label = "mix (default)" if decay == FollowUps().decay else f"mix, decay {decay:g}"
        rows[label] = with_history(FollowUps(mode="mix", decay=decay))
    rows["joined text, one embedding"] = lambda item: retriever.invoke(
        "\n".join([*item["history"], item["query"]])
    )
    rows["asked in full (target)"] = lambda item: retriever.invoke(item["full"])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="embedder folder (default: the offline e5-small)")
    parser.add_argument("--decays", type=float, nargs="+", default=[0.5])
    parser.add_argument("--modes", nargs="+", default=["hybrid"])
    args = parser.parse_args()
    default_model = Path(os.environ.get("OFFLINE_MODELS_DIR", "")) / "multilingual-e5-small"
    model = args.model or os.environ.get("BLLOSSOM_RAG_EMBEDDING_MODEL") or str(default_model)
    embeddings = CachedEmbeddings(SentenceTransformerEmbeddings.load(model, device="cpu"), CACHE)
    items = conversations()
    passages = corpus()
    print(f"{len(items)} conversations, {len(passages)} passages", flush=True)
    print("| mode | method | R@1 | R@5 | R@5 KorQuAD (32) | R@5 examples (8) |")
    print("| --- | --- | --- | --- | --- | --- |")
    with (
        tempfile.TemporaryDirectory() as folder,
        build_store(Task("followups", passages, []), embeddings, Store(Path(folder))) as store,
    ):
        for mode in args.modes:
            retriever = StoreRetriever(
                store=store, embeddings=embeddings, collection=COLLECTION, k=10, mode=mode
            )
            for name, search in methods(retriever, args.decays).items():
                r1, r5, found = recall(items, search)
                parts = [
                    sum(hit for hit, item in zip(found, items, strict=True) if item["corpus"] == c)
                    / sum(item["corpus"] == c for item in items)
                    for c in ("korquad", "examples")
                ]
                print(
                    f"| {mode} | {name} | {r1:.3f} | {r5:.3f} | {parts[0]:.3f} | {parts[1]:.3f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()

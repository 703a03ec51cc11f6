"""``bllossom-rag eval``: measure retrieval quality on a SQuAD-format or JSONL dataset."""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from rag.access import Access, parse_groups
from rag.text.display import plural
from ui.cli.app import (
    CollectionOption,
    JsonOption,
    app,
    err,
    open_assistant,
    out,
    print_json,
    shown,
)

if TYPE_CHECKING:
    from rag.assistant import Assistant
    from rag.evaluation.retrieval import EvalDataset

ModeOption = Annotated[
    str | None,
    typer.Option("--mode", help="dense, bm25 or hybrid (default: the retrieval.mode setting)."),
]


@app.command("eval")
def eval_command(
    dataset: Annotated[Path, typer.Argument(help="SQuAD-format .json or .jsonl queries.")],
    collection: CollectionOption = None,
    mode: ModeOption = None,
    user_groups: Annotated[
        str, typer.Option(help="Comma-separated groups of the caller (default: public only).")
    ] = "",
    limit: Annotated[
        int | None, typer.Option(min=1, help="Evaluate a fixed random sample of N queries.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Recall@1/5/10, MRR@10, nDCG@10 and latency of retrieval on a dataset.

    A SQuAD-format file brings its corpus (every paragraph), ingested once into a collection
    (default ``eval-<file name>``); a JSONL file is evaluated against an ingested collection,
    a line with "history" as the follow-up it is (searched with the earlier questions).
    """
    from langchain_core.documents import Document
    from langchain_core.messages import HumanMessage
    from rich.progress import Progress

    from rag.evaluation.retrieval import EvalQuery, evaluate, load_dataset

    if mode is not None and mode not in ("dense", "bm25", "hybrid"):
        msg = f"--mode must be dense, bm25 or hybrid, not {mode!r}"
        raise typer.BadParameter(msg)
    with open_assistant() as assistant:
        data = load_dataset(dataset)
        if data.passages:
            name = _ingest_corpus(assistant, data, collection)
        else:
            name = collection or assistant.settings.collection
        queries = data.queries
        if limit is not None and limit < len(queries):
            queries = random.Random(0).sample(queries, limit)
        retriever = assistant.retriever(
            name,
            k=10,
            access=Access.for_groups(parse_groups(user_groups)),
            mode=mode,  # type: ignore[arg-type]
        )
        followups = assistant.followups

        def search(query: EvalQuery) -> list[Document]:
            """A follow-up with its history, as the chat searches it; else the question."""
            history = [HumanMessage(content=text) for text in query.history]
            turn = followups.query(query.text, history)
            return retriever.invoke(turn.text, turns=turn.turns)

        retriever.invoke(queries[0].text)  # load models and views outside the timings
        with Progress(console=err, transient=True) as progress:
            task = progress.add_task("Evaluating", total=len(queries))
            scores = evaluate(queries, search, on_query=lambda: progress.advance(task))
        summary = scores.summary()
        used_mode = retriever.mode
    if as_json:
        print_json(summary)
        return
    table = Table(title=f"{shown(dataset.name)} on {shown(name)} ({used_mode})")
    for column in (
        "n",
        "recall@1",
        "recall@5",
        "recall@10",
        "mrr@10",
        "ndcg@10",
        "p50 ms",
        "p95 ms",
    ):
        table.add_column(column, justify="right")
    latency = summary["latency_ms"]
    table.add_row(
        str(summary["n"]),
        *(f"{summary[key]:.3f}" for key in ("recall@1", "recall@5", "recall@10", "mrr@10")),
        f"{summary['ndcg@10']:.3f}",
        f"{latency['p50']:.1f}",
        f"{latency['p95']:.1f}",
    )
    out.print(table)


def _ingest_corpus(assistant: Assistant, data: EvalDataset, collection: str | None) -> str:
    """Write the dataset's passages as files and ingest them (unchanged files cost nothing)."""
    from ingest.pipeline import Ingestor

    name = collection or "eval-" + re.sub(r"[^\w.-]+", "-", data.name).strip("-.")[:59]
    folder = Path(assistant.settings.data_dir) / "eval" / name
    folder.mkdir(parents=True, exist_ok=True)
    for passage in data.passages:
        path = folder / passage.name
        if not path.is_file() or path.read_text(encoding="utf-8") != passage.text:
            path.write_text(passage.text, encoding="utf-8")
    err.print(f"Corpus: {plural(len(data.passages), 'passage')} -> collection {shown(name)}")
    ingestor = Ingestor.from_settings(
        assistant.settings,
        assistant.store,
        assistant.embeddings_for(name),
        llm=lambda: assistant.llm,
    )
    report = ingestor.ingest([folder], collection=name)
    if report.failed:
        first = report.failed[0]
        failed = plural(len(report.failed), "passage")
        err.print(f"[yellow]{failed} failed, e.g. {shown(first.error)}[/]")
    return name

"""``bllossom-rag ingest``: index files and folders, with progress and a summary table."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from rag.access import parse_groups
from rag.text.display import plural
from ui.cli.app import (
    CollectionOption,
    JsonOption,
    app,
    cli_actor,
    err,
    open_assistant,
    out,
    print_json,
    shown,
    user_errors,
)

if TYPE_CHECKING:
    from ingest.report import FileDetail, IngestReport
    from ingest.sources.sync import Ingesting
    from rag.assistant import Assistant
    from rag.config import Settings

WorkersOption = Annotated[
    int,
    typer.Option(
        min=1,
        max=64,
        help="Processes that read, chunk and embed the files (1: this one); the commits stay "
        "in the files' order.",
    ),
]

# Beyond this many unchanged files the summary shows their count instead of each path.
_UNCHANGED_ROWS = 20


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to ingest.")],
    collection: CollectionOption = None,
    groups: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated groups allowed to read these documents, set explicitly: they "
            "win over the access rules until set again ('' makes them public). Without it, the "
            "rules and each document's own groups decide, and none gets wider.",
        ),
    ] = None,
    caption: Annotated[
        bool | None,
        typer.Option(
            "--caption/--no-caption",
            help="Caption images with the generator, in Korean and English "
            "(default: the caption_images setting).",
        ),
    ] = None,
    prune: Annotated[
        bool, typer.Option(help="Remove documents under PATHS whose files are gone.")
    ] = False,
    strict: Annotated[bool, typer.Option(help="Exit non-zero if any file failed.")] = False,
    workers: WorkersOption = 1,
    as_json: JsonOption = False,
) -> None:
    """Ingest documents: unchanged files are skipped, changed files re-indexed."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from ingest.discovery import find_files
    from ingest.report import IngestProgress

    with user_errors():  # a wrong path costs no model load
        found = find_files(paths, allow_missing=prune)
    with open_assistant() as assistant:
        settings = assistant.settings
        if caption is not None:
            ingest = settings.ingest.model_copy(update={"caption_images": caption})
            settings = settings.model_copy(update={"ingest": ingest})
        ingestor = make_ingestor(assistant, collection, workers, settings)
        columns = (
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("files, {task.fields[chunks]} chunks embedded ({task.fields[rate]})"),
        )
        started = time.monotonic()
        with Progress(*columns, console=err, transient=True) as progress:
            task = progress.add_task("Ingesting", total=None, chunks=0, rate="-")

            def show(update: IngestProgress) -> None:
                elapsed = time.monotonic() - started
                progress.update(
                    task,
                    total=update.files_total,
                    completed=update.files_done,
                    chunks=update.chunks_embedded,
                    rate=f"{update.chunks_embedded / elapsed:.1f}/s" if elapsed > 0 else "-",
                )

            report = ingestor.ingest(
                found,
                collection=collection or settings.collection,
                groups=None if groups is None else parse_groups(groups),
                on_progress=show,
                prune=prune,
                actor=cli_actor(),
            )
    if as_json:
        print_json({**report.to_json(), **({"pruned": report.pruned} if prune else {})})
    else:
        _print_ingest_summary(report)
    nothing_done = not (report.ingested or report.unchanged)
    if report.failed and (strict or nothing_done):
        raise typer.Exit(1)


def make_ingestor(
    assistant: Assistant, collection: str | None, workers: int, settings: Settings | None = None
) -> Ingesting:
    """The ingestor for ``collection``: in this process, or with ``workers`` processes."""
    from ingest.pipeline import Ingestor

    settings = settings or assistant.settings
    embeddings = assistant.embeddings_for(collection)
    ingestor = Ingestor.from_settings(
        settings, assistant.store, embeddings, llm=lambda: assistant.llm
    )
    if workers <= 1:
        return ingestor
    from ingest.parallel import ParallelIngestor

    return ParallelIngestor(ingestor, settings, workers)


def _print_ingest_summary(report: IngestReport) -> None:
    table = Table(title="Ingest summary", show_lines=False)
    table.add_column("result")
    table.add_column("file")
    table.add_column("detail")
    for path in report.ingested:
        detail = report.details.get(path)
        table.add_row("[green]ingested[/]", shown(path), shown(_describe(detail)))
    if len(report.unchanged) > _UNCHANGED_ROWS:
        table.add_row("[dim]unchanged[/]", plural(len(report.unchanged), "file"), "")
    else:
        for path in report.unchanged:
            table.add_row("[dim]unchanged[/]", shown(path), "")
    for path in report.pruned:
        table.add_row("[yellow]removed[/]", shown(path), "file is gone (--prune)")
    for change in report.access_changes:
        why = f"rule {change.rule}" if change.origin == "rule" else "--groups"
        groups = f"groups {_groups(change.before)} -> {_groups(change.after)} ({why})"
        table.add_row("[magenta]access[/]", shown(change.path), shown(groups))
    for failure in report.failed:
        table.add_row("[red]failed[/]", shown(failure.path), shown(failure.error))
    if report.skipped:
        table.add_row(
            "[dim]skipped[/]",
            plural(len(report.skipped), "file"),
            f"types no loader reads: {shown(report.skipped_types())}",
        )
    out.print(table)
    for notice in report.notices:
        out.print(f"[yellow]Note:[/] {shown(notice)}")
    removed = f", {len(report.pruned)} removed" if report.pruned else ""
    skipped = f", {len(report.skipped)} skipped" if report.skipped else ""
    out.print(
        f"{len(report.ingested)} ingested, {len(report.unchanged)} unchanged, "
        f"{len(report.failed)} failed{removed}{skipped}; "
        f"{plural(report.chunks_embedded, 'chunk')} embedded"
    )


def _groups(groups: Sequence[str]) -> str:
    return ",".join(groups) or "everyone"


def _describe(detail: FileDetail | None) -> str:
    """``3 chunks (1 image); skipped images after ...; moved from /old/path``."""
    if detail is None:
        return ""
    images = f" ({plural(detail.images, 'image')})" if detail.images else ""
    moved = [f"moved from {detail.moved_from}"] if detail.moved_from else []
    return "; ".join([plural(detail.chunks, "chunk") + images, *detail.notes, *moved])

"""``bllossom-rag ingest``: index files and folders, with progress and a summary table."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from rag.access import parse_groups
from rag.cli.app import CollectionOption, JsonOption, app, err, open_assistant, out, print_json

if TYPE_CHECKING:
    from ingest.pipeline import IngestReport


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to ingest.")],
    collection: CollectionOption = None,
    groups: Annotated[
        str, typer.Option(help="Comma-separated groups allowed to read these documents.")
    ] = "",
    strict: Annotated[bool, typer.Option(help="Exit non-zero if any file failed.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Ingest documents: unchanged files are skipped, changed files re-indexed."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from ingest.pipeline import Ingestor, IngestProgress

    with open_assistant() as assistant:
        settings = assistant.settings
        ingestor = Ingestor.from_settings(settings, assistant.store, assistant.embeddings)
        columns = (
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("files, {task.fields[chunks]} chunks embedded"),
        )
        with Progress(*columns, console=err, transient=True) as progress:
            task = progress.add_task("Ingesting", total=None, chunks=0)

            def show(update: IngestProgress) -> None:
                progress.update(
                    task,
                    total=update.files_total,
                    completed=update.files_done,
                    chunks=update.chunks_embedded,
                )

            report = ingestor.ingest(
                paths,
                collection=collection or settings.collection,
                groups=parse_groups(groups),
                on_progress=show,
            )
    if as_json:
        print_json(report.to_json())
    else:
        _print_ingest_summary(report)
    nothing_done = not (report.ingested or report.unchanged)
    if report.failed and (strict or nothing_done):
        raise typer.Exit(1)


def _print_ingest_summary(report: IngestReport) -> None:
    table = Table(title="Ingest summary", show_lines=False)
    table.add_column("result")
    table.add_column("file")
    table.add_column("detail")
    for path in report.ingested:
        table.add_row("[green]ingested[/]", escape(path), "")
    for path in report.unchanged:
        table.add_row("[dim]unchanged[/]", escape(path), "")
    for failure in report.failed:
        table.add_row("[red]failed[/]", escape(failure.path), escape(failure.error))
    out.print(table)
    out.print(
        f"{len(report.ingested)} ingested, {len(report.unchanged)} unchanged, "
        f"{len(report.failed)} failed; {report.chunks_embedded} chunks embedded"
    )

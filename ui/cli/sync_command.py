"""``bllossom-rag sync``: bring the configured sources' collections to the sources' state."""

from __future__ import annotations

import getpass
import json
import signal
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from rag.access.audit import Actor
from rag.text.display import plural
from ui.cli.app import JsonOption, app, err, open_assistant, out, print_json, shown, user_errors
from ui.cli.ingest_command import WorkersOption, make_ingestor

if TYPE_CHECKING:
    from ingest.sources import SyncReport


@app.command()
def sync(
    names: Annotated[
        list[str] | None,
        typer.Argument(help="Sources to sync, by name (default: every [[sources]] table)."),
    ] = None,
    watch: Annotated[
        bool,
        typer.Option(
            "--watch",
            help="Keep going: folders are synced after their files change, sites and "
            "repositories on their schedule; stop with Ctrl-C.",
        ),
    ] = False,
    workers: WorkersOption = 1,
    as_json: JsonOption = False,
) -> None:
    """Sync sources: new and changed documents ingested, deleted ones removed, the rest kept."""
    from ingest.sources import Syncer

    with open_assistant() as assistant:
        syncer = Syncer(
            assistant.settings,
            assistant.store,
            lambda collection: make_ingestor(assistant, collection, workers),
            actor=Actor(f"cli:{getpass.getuser()}", "sync"),
            audit=assistant.audit,
        )
        with user_errors():
            sources = syncer.sources(names or [])
        if watch:
            from ingest.sources.watch import Watcher

            def show(report: SyncReport) -> None:
                if as_json:
                    sys.stdout.write(json.dumps(report.to_json(), ensure_ascii=False) + "\n")
                    sys.stdout.flush()
                else:
                    _print_report(report)

            err.print(f"Watching {plural(len(sources), 'source')}; stop with Ctrl-C.")
            signal.signal(signal.SIGTERM, _interrupt)  # a service manager's stop, like Ctrl-C
            try:
                Watcher(syncer, sources, on_report=show).run()
            except KeyboardInterrupt:
                err.print("Stopped watching.")
            return
        reports = []
        for source in sources:
            if not as_json:
                err.print(f"Syncing {shown(source.name)} ...")
            reports.append(syncer.sync(source))
            if not as_json:
                _print_report(reports[-1])
    if as_json:
        print_json({"sources": [report.to_json() for report in reports]})
    if any(report.error for report in reports):
        raise typer.Exit(1)


def _interrupt(_signal: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _print_report(report: SyncReport) -> None:
    at = f" at {report.cursor[:12]}" if report.cursor else ""
    head = f"[bold]{shown(report.source)}[/] ({report.kind} -> {shown(report.collection)}){at}"
    if report.error is not None:
        out.print(f"{head}: [red]not synced:[/] {shown(report.error)}")
        return
    counts = report.counts()
    out.print(
        f"{head}: {counts['ingested']} ingested, {counts['removed']} removed, "
        f"{counts['unchanged']} unchanged, {counts['failed']} failed; "
        f"{plural(report.chunks_embedded, 'chunk')} embedded"
    )
    for failure in report.failed:
        out.print(f"  [red]failed[/] {shown(failure.path)}: {shown(failure.error)}")
    for note in report.notes:
        out.print(f"  [yellow]note[/] {shown(note)}")

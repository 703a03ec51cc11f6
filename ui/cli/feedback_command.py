"""``bllossom-rag feedback export``: the web app's thumbs-up answers as an eval dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from rag.config import load_settings
from ui.cli.app import JsonOption, app, out, print_json, user_errors

feedback_app = typer.Typer(help="Ratings given in the web app.", no_args_is_help=True)
app.add_typer(feedback_app, name="feedback")


@feedback_app.command("export")
def feedback_export(
    path: Annotated[
        Path, typer.Argument(help="The JSONL file to write (bllossom-rag eval reads it).")
    ],
    collection: Annotated[
        list[str] | None,
        typer.Option("--collection", "-c", help="Only this collection (repeatable)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Write the thumbs-up answers as eval JSONL: question, cited sources, earlier questions."""
    from rag.evaluation.feedback import FeedbackLog

    with user_errors():
        settings = load_settings()
        report = FeedbackLog.in_data_dir(settings.data_dir).export_eval(path, collection or ())
    if as_json:
        print_json(
            {
                "path": str(path),
                "written": report.written,
                "thumbs_down": report.thumbs_down,
                "without_sources": report.without_sources,
            }
        )
        return
    out.print(f"Wrote {report.written} rated questions to {escape(str(path))}")
    if report.thumbs_down:
        out.print(
            f"[dim]{report.thumbs_down} thumbs-down answers are not exported: they say the answer "
            "was wrong, not which passage was right (add such a line by hand).[/]"
        )
    if report.without_sources:
        out.print(f"[dim]{report.without_sources} thumbs-up answers had no sources.[/]")

"""The ``bllossom-rag`` command line: one module per command group, all on one Typer app."""

from ui.cli import (  # noqa: F401  (registers commands)
    ask_command,
    docs_command,
    eval_command,
    ingest_command,
    serve_command,
    store_command,
    ui_command,
)
from ui.cli.app import app

__all__ = ["app"]

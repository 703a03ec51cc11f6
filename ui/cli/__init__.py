"""The ``bllossom-rag`` command line: one module per command group, all on one Typer app."""

from ui.cli import (  # noqa: F401  (registers commands)
    api_command,
    ask_command,
    audit_command,
    chat_command,
    docs_command,
    eval_command,
    feedback_command,
    ingest_command,
    keys_command,
    report_command,
    serve_command,
    source_command,
    store_command,
    sync_command,
    ui_command,
)
from ui.cli.app import app

__all__ = ["app"]

"""The ``bllossom-rag`` Typer application and what its commands share.

Commands are thin: they read :class:`Settings`, build an :class:`Assistant` and call the same
library functions the UI calls. User errors (:class:`BllossomRagError`) become one red line on
stderr and exit code 1; ``--json`` output goes alone to stdout so scripts can parse it. Each
command group lives in its own module (``*_command.py``) and registers itself on :data:`app`.
Everything that came from a file or a user goes through :func:`shown` before it is printed, so
no file name can write to the terminal (escape sequences, fake lines, reversed text) or be read
as Rich markup or emoji codes.
"""

from __future__ import annotations

import contextlib
import getpass
import importlib
import json
import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from rag.access.audit import Actor
from rag.config import load_settings
from rag.errors import BllossomRagError, ConfigError
from rag.text.display import printable

if TYPE_CHECKING:
    from rag.assistant import Assistant

app = typer.Typer(
    name="bllossom-rag",
    help="Korean-English multimodal RAG assistant around Bllossom-Vision.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

out = Console(soft_wrap=True, emoji=False)
err = Console(stderr=True, soft_wrap=True, emoji=False)

CollectionOption = Annotated[
    str | None, typer.Option("--collection", "-c", help="Collection (default: settings).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object to stdout.")]


@app.callback()
def _quiet_libraries() -> None:
    """Keep library chatter (weight-loading bars, load reports) off the user's terminal."""
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def shown(text: object, keep: str = "") -> str:
    """Untrusted text made inert for the terminal: controls escaped, markup escaped.

    See :func:`rag.text.display.printable` (``keep`` as there).
    """
    return escape(printable(str(text), keep))


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Print a :class:`BllossomRagError` as one red line and exit 1, instead of a traceback."""
    try:
        yield
    except BllossomRagError as error:
        err.print(f"[bold red]Error:[/] {shown(error)}")
        raise typer.Exit(1) from None


def require_server_packages(server: str, *modules: str) -> None:
    """Fail in one line when the HTTP server's packages (the ``worker`` extra) are missing.

    Args:
        server: What needs them, for the message.
        modules: Other modules of the extra that this server needs.

    Raises:
        ConfigError: uvicorn, Starlette or one of ``modules`` is not installed; the message
            names ``server``.

    """
    try:
        import uvicorn  # noqa: F401
        from starlette.applications import Starlette  # noqa: F401

        for module in modules:
            importlib.import_module(module)
    except ImportError:
        msg = f'{server} needs the worker extra: pip install "bllossom-rag[worker]"'
        raise ConfigError(msg) from None


@contextlib.contextmanager
def open_assistant() -> Iterator[Assistant]:
    """Build the assistant from settings and close it (checkpointing the store) afterwards."""
    with user_errors():
        from rag.assistant import Assistant

        assistant = Assistant(load_settings())
        try:
            yield assistant
        finally:
            assistant.close()


def cli_actor() -> Actor:
    """Who runs a command, for the audit trail: the operating-system user, on the command line."""
    return Actor(f"cli:{getpass.getuser()}", "cli")


def print_json(data: Any) -> None:
    """Write one JSON document to stdout (UTF-8, Korean kept readable)."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")

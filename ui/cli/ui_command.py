"""``bllossom-rag ui``: serve the Streamlit app (Chat, Library, Dashboard).

The command validates the settings first (a bad setting is one line here, not a red box in the
browser), then replaces itself with ``python -m streamlit run ui/web/app.py``: the app reads the
same environment and ``bllossom-rag.toml``, and signals reach Streamlit directly, so stopping
``bllossom-rag ui`` stops the server. Options it does not know (``--server.headless true``,
``--theme.base dark``) pass through to Streamlit unchanged.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from rag.config import Settings, load_settings
from rag.errors import BllossomRagError
from ui.cli.app import app, user_errors


def app_script() -> Path:
    """``ui/web/app.py`` of the installed ``ui.web`` package (without importing Streamlit)."""
    spec = importlib.util.find_spec("ui.web")
    if spec is None or spec.origin is None:
        msg = "the ui package is not installed (pip install -e . from the checkout)"
        raise BllossomRagError(msg)
    return Path(spec.origin).parent / "app.py"


def streamlit_argv(settings: Settings, host: str, port: int, extra: list[str]) -> list[str]:
    """The ``streamlit run`` command line for these settings (``extra`` last, so it wins)."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app_script()),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.maxUploadSize",
        str(settings.ui.max_upload_mb),
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "minimal",
        *extra,
    ]


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def ui(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8501,
) -> None:
    """Serve the web app: chat with sources and images, document library, dashboard.

    Other options (e.g. --server.headless true) are passed to `streamlit run`.
    """
    with user_errors():
        settings = load_settings()
        if importlib.util.find_spec("streamlit") is None:
            msg = 'the UI needs Streamlit: pip install "bllossom-rag[ui]"'
            raise BllossomRagError(msg)
        argv = streamlit_argv(settings, host, port, list(ctx.args))
    if os.name == "posix":
        os.execv(sys.executable, argv)  # the server takes this process's place (and signals)
    raise typer.Exit(subprocess.call(argv))

"""``bllossom-rag api``: the RAG API, OpenAI's chat API over the collections, with sources."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from rag.config import load_settings
from rag.text.display import plural
from ui.cli.app import app, err, out, require_server_packages, user_errors

_LOOPBACK = ("127.0.0.1", "localhost", "::1")


@app.command()
def api(
    host: Annotated[str | None, typer.Option(help="Interface (default: api.host).")] = None,
    port: Annotated[
        int | None, typer.Option(min=0, max=65535, help="Port (default: api.port).")
    ] = None,
) -> None:
    """Serve the RAG API: /v1/chat/completions (model = collection), /v1/retrieve, /v1/models."""
    with user_errors():
        require_server_packages("the RAG API", "mcp")
        from rag.assistant import Assistant
        from rag.runtime.models import model_reference
        from serve.api import ApiOptions, create_app
        from serve.http.server import serve as run_server

        settings = load_settings()
        model_reference(settings.embedding.model, "embedding")  # a missing folder fails now
        if not settings.generation.worker_url:
            model_reference(settings.generation.model, "generator")
        options = ApiOptions.from_settings(settings)
        bind_host = host or settings.api.host
        bind_port = settings.api.port if port is None else port
        assistant = Assistant(settings)
        stored = len(assistant.store.api_keys())
    count = len(options.keys) + stored
    if not count and bind_host not in _LOOPBACK:
        err.print(
            f"[yellow]Warning:[/] no API keys: anyone who can reach {escape(bind_host)} can read "
            "the unrestricted documents (bllossom-rag keys create NAME, or [api] keys)"
        )
    generator = settings.generation.worker_url or settings.generation.model
    keys = plural(count, "API key") if count else "no API keys: public documents"
    out.print(
        f"Serving the RAG API on http://{escape(bind_host)}:{bind_port}/v1 ({keys}; generator "
        f"{escape(generator)}; {options.max_concurrency} concurrent, queue {options.max_queue}, "
        f"timeout {options.timeout:g} s). The models load in the background: GET /health."
    )
    try:
        run_server(create_app(assistant, options), bind_host, bind_port)
    finally:
        assistant.close()

"""``bllossom-rag serve``: the GPU worker, an OpenAI-compatible generation server."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from rag.config import load_settings
from rag.config.sections import MIN_KEY_LENGTH, key_problem
from rag.errors import BllossomRagError
from ui.cli.app import app, err, out, require_server_packages, user_errors

_LOOPBACK = ("127.0.0.1", "localhost", "::1")


@app.command()
def serve(
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Checkpoint (default: generation.model).")
    ] = None,
    host: Annotated[str | None, typer.Option(help="Interface (default: worker.host).")] = None,
    port: Annotated[
        int | None, typer.Option(min=0, max=65535, help="Port (default: worker.port).")
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            help="Required as 'Authorization: Bearer KEY' on every route but /health "
            "(default: worker.api_key).",
        ),
    ] = None,
    max_queue: Annotated[
        int | None, typer.Option(min=0, help="Waiting requests; more get 429 at once.")
    ] = None,
    max_concurrency: Annotated[
        int | None, typer.Option(min=1, help="Generations running at the same time.")
    ] = None,
    timeout: Annotated[
        float | None, typer.Option(min=0.001, help="Seconds per request, queue included.")
    ] = None,
    embedding_model: Annotated[
        str | None,
        typer.Option(
            "--embedding-model",
            help="Also serve /v1/embeddings with this sentence-transformers model "
            "(default: worker.embedding_model).",
        ),
    ] = None,
) -> None:
    """Serve the generator over an OpenAI-compatible API (/v1/chat/completions, /health)."""
    with user_errors():
        require_server_packages("the worker")
        from rag.generation.llm import ChatBllossom
        from rag.runtime.models import model_reference
        from rag.store.factory import existing_store_of
        from serve.http.server import serve as run_server
        from serve.worker import WorkerOptions, create_app

        settings = load_settings()
        problem = None if api_key is None else key_problem(api_key)
        if problem is not None:
            msg = f"--api-key: {problem}; use {MIN_KEY_LENGTH} or more random characters"
            raise BllossomRagError(msg)
        name = model or settings.generation.model
        model_reference(name, "generator")  # a missing folder fails now, not in the background
        options = WorkerOptions.from_settings(
            settings,
            model_id=name,
            api_key=api_key,
            max_queue=max_queue,
            max_concurrency=max_concurrency,
            timeout=timeout,
        )
        llm = ChatBllossom.from_settings(settings, model_name=name)
        embedder_name = embedding_model or settings.worker.embedding_model
        embedder = None
        if embedder_name:
            from rag.embeddings.torch import SentenceTransformerEmbeddings

            embedder = SentenceTransformerEmbeddings.load(
                embedder_name, device=settings.device, batch_size=settings.embedding.batch_size
            )
        bind_host = host or settings.worker.host
        bind_port = settings.worker.port if port is None else port
        registry = existing_store_of(settings)  # its API keys work here too
    keyed = bool(options.api_key or options.api_keys or (registry and registry.api_keys()))
    if not keyed and bind_host not in _LOOPBACK:
        err.print(
            f"[yellow]Warning:[/] no API key: anyone who can reach {escape(bind_host)} can use "
            "this GPU (pass --api-key or set BLLOSSOM_RAG_WORKER__API_KEY)"
        )
    out.print(
        f"Serving {escape(name)} on http://{escape(bind_host)}:{bind_port}/v1 "
        f"({'API key required' if keyed else 'no API key'}; "
        f"{options.max_concurrency} concurrent, queue {options.max_queue}, "
        f"timeout {options.timeout:g} s). The model loads in the background: GET /health."
    )
    if embedder is not None:
        out.print(f"Embeddings: {escape(embedder_name or '')} at /v1/embeddings.")
    try:
        run_server(create_app(llm, options, embedder, registry), bind_host, bind_port)
    finally:
        if registry is not None:
            registry.close()

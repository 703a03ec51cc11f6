"""The ``bllossom-rag`` command line.

Commands are thin: they read :class:`Settings`, build an :class:`Assistant` and call the same
library functions the UI calls. User errors (:class:`BllossomRagError`) become one red line on
stderr and exit code 1; ``--json`` output goes alone to stdout so scripts can parse it.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from rag.config import Settings
from rag.errors import BllossomRagError, ConfigError

if TYPE_CHECKING:
    from ingest.pipeline import IngestReport
    from rag.assistant import Assistant

app = typer.Typer(
    name="bllossom-rag",
    help="Korean-English multimodal RAG assistant around Bllossom-Vision.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
docs_app = typer.Typer(help="List or remove ingested documents.", no_args_is_help=True)
app.add_typer(docs_app, name="docs")

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

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


@contextlib.contextmanager
def _assistant() -> Iterator[Assistant]:
    """Build the assistant from settings; user errors exit with one line, not a traceback."""
    try:
        try:
            settings = Settings()
        except ValidationError as error:
            first = error.errors()[0]
            field = ".".join(str(part) for part in first["loc"])
            msg = f"invalid setting {field}: {first['msg']}"
            raise ConfigError(msg) from None
        from rag.assistant import Assistant

        assistant = Assistant(settings)
        try:
            yield assistant
        finally:
            assistant.close()
    except BllossomRagError as error:
        err.print(f"[bold red]Error:[/] {escape(str(error))}")
        raise typer.Exit(1) from None


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


# --- ingest ---------------------------------------------------------------------------------


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

    with _assistant() as assistant:
        settings = assistant.settings
        ingestor = Ingestor(
            assistant.store,
            assistant.embeddings,
            chunk_tokens=settings.chunk_tokens,
            chunk_overlap=settings.chunk_overlap,
            max_file_bytes=settings.max_file_bytes,
        )
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
                groups=[g.strip() for g in groups.split(",") if g.strip()],
                on_progress=show,
            )
    if as_json:
        _print_json(report.to_json())
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


# --- ask ------------------------------------------------------------------------------------


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question, in Korean or English.")],
    collection: CollectionOption = None,
    k: Annotated[int | None, typer.Option("--k", min=1, max=100, help="Passages.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Answer a question from the ingested documents, with numbered sources."""
    from rag.chain import sources_from_documents
    from rag.llm import encode_prompt

    with _assistant() as assistant:
        chain = assistant.chain(collection, k)
        state: dict[str, Any] = {}
        answer: list[str] = []
        for part in chain.stream({"question": question}):
            if "answer" in part:
                answer.append(part["answer"])
                if not as_json:
                    out.out(part["answer"], end="", highlight=False)
            else:
                state.update(part)
        sources = sources_from_documents(state["documents"])
        if as_json:
            prompt = encode_prompt(assistant.processor, state["messages"])
            _print_json(
                {
                    "answer": "".join(answer),
                    "sources": [source.to_json() for source in sources],
                    "prompt": prompt.text,
                    "prompt_tokens": prompt.token_count,
                }
            )
            return
    out.print("\n")
    out.print("[bold]Sources[/]" if sources else "[dim]No sources found.[/]")
    for source in sources:
        where = f", p. {source.page}" if source.page is not None else ""
        snippet = " ".join(source.text.split())[:160]
        out.print(f"[{source.number}] {escape(source.source)}{where}  (score {source.score:.3f})")
        out.print(f"    [dim]{escape(snippet)}[/]")


# --- docs -----------------------------------------------------------------------------------


@docs_app.command("list")
def docs_list(collection: CollectionOption = None, as_json: JsonOption = False) -> None:
    """List the documents of a collection."""
    with _assistant() as assistant:
        name = collection or assistant.settings.collection
        documents = assistant.store.documents(name)
    if as_json:
        _print_json(
            [
                {
                    "id": d.id,
                    "source": d.source_path,
                    "chunks": d.chunks,
                    "size": d.size,
                    "groups": list(d.groups),
                    "ingested_at": d.ingested_at,
                }
                for d in documents
            ]
        )
        return
    table = Table(title=f"Collection {escape(name)}: {len(documents)} documents")
    for column in ("id", "source", "chunks", "groups"):
        table.add_column(column)
    for d in documents:
        table.add_row(d.id, escape(d.source_path), str(d.chunks), ",".join(d.groups) or "-")
    out.print(table)


@docs_app.command("remove")
def docs_remove(
    targets: Annotated[list[str], typer.Argument(help="Document ids, file paths or folders.")],
    collection: CollectionOption = None,
) -> None:
    """Remove documents (and their chunks) by id or path."""
    with _assistant() as assistant:
        name = collection or assistant.settings.collection
        found = {d.id: d for t in targets for d in assistant.store.find_documents(name, t)}
        result = assistant.store.remove_documents(name, list(found))
    for document in found.values():
        out.print(f"removed {escape(document.source_path)} ({document.id})")
    out.print(f"{result.documents_removed} documents, {result.chunks_removed} chunks removed")


def main() -> None:
    """Entry point for ``python -m rag.cli``."""
    app()


if __name__ == "__main__":
    main()

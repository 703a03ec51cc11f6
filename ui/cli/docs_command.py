"""``bllossom-rag docs list|remove``: see and delete ingested documents."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from rag.text.display import plural
from ui.cli.app import CollectionOption, JsonOption, app, open_assistant, out, print_json, shown

docs_app = typer.Typer(help="List or remove ingested documents.", no_args_is_help=True)
app.add_typer(docs_app, name="docs")


@docs_app.command("list")
def docs_list(collection: CollectionOption = None, as_json: JsonOption = False) -> None:
    """List the documents of a collection."""
    with open_assistant() as assistant:
        name = collection or assistant.settings.collection
        documents = assistant.store.documents(name)
    if as_json:
        print_json(
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
    table = Table(title=f"Collection {shown(name)}: {plural(len(documents), 'document')}")
    for column in ("id", "source", "chunks", "groups"):
        table.add_column(column)
    for d in documents:
        table.add_row(d.id, shown(d.source_path), str(d.chunks), shown(",".join(d.groups) or "-"))
    out.print(table)


@docs_app.command("remove")
def docs_remove(
    targets: Annotated[list[str], typer.Argument(help="Document ids, file paths or folders.")],
    collection: CollectionOption = None,
) -> None:
    """Remove documents (and their chunks) by id or path."""
    with open_assistant() as assistant:
        name = collection or assistant.settings.collection
        found = {d.id: d for t in targets for d in assistant.store.find_documents(name, t)}
        result = assistant.store.remove_documents(name, list(found))
    for document in found.values():
        out.print(f"removed {shown(document.source_path)} ({document.id})")
    out.print(
        f"{plural(result.documents_removed, 'document')}, "
        f"{plural(result.chunks_removed, 'chunk')} removed"
    )

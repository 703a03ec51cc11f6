"""``bllossom-rag docs list|remove|access``: see, delete and restrict ingested documents."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from rag.access import parse_groups
from rag.text.display import plural
from ui.cli.app import (
    CollectionOption,
    JsonOption,
    app,
    cli_actor,
    open_assistant,
    out,
    print_json,
    shown,
)

docs_app = typer.Typer(help="List, remove or restrict ingested documents.", no_args_is_help=True)
app.add_typer(docs_app, name="docs")
TargetsArgument = Annotated[list[str], typer.Argument(help="Document ids, file paths or folders.")]


@docs_app.command("list")
def docs_list(collection: CollectionOption = None, as_json: JsonOption = False) -> None:
    """List the documents of a collection, with who may read each and why."""
    with open_assistant() as assistant:
        name = collection or assistant.settings.collection
        documents = assistant.store.documents(name)
    if as_json:
        print_json(
            [
                {
                    "id": d.id,
                    "source": d.source_path,
                    "path": d.shown_path,
                    "chunks": d.chunks,
                    "size": d.size,
                    "groups": list(d.groups),
                    "groups_origin": d.groups_origin,
                    "groups_rule": d.groups_rule,
                    "ingested_at": d.ingested_at,
                }
                for d in documents
            ]
        )
        return
    table = Table(title=f"Collection {shown(name)}: {plural(len(documents), 'document')}")
    for column in ("id", "source", "chunks", "groups", "from"):
        table.add_column(column)
    for d in documents:
        origin = f"rule {d.groups_rule}" if d.groups_origin == "rule" else d.groups_origin
        table.add_row(
            d.id,
            shown(d.source_path),
            str(d.chunks),
            shown(",".join(d.groups) or "-"),
            shown(origin),
        )
    out.print(table)


@docs_app.command("remove")
def docs_remove(targets: TargetsArgument, collection: CollectionOption = None) -> None:
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


@docs_app.command("access")
def docs_access(
    targets: TargetsArgument,
    groups: Annotated[
        str,
        typer.Option(
            help="Comma-separated groups that may read them ('' makes them public). Set "
            "explicitly: it wins over the access rules until set again.",
        ),
    ],
    collection: CollectionOption = None,
    as_json: JsonOption = False,
) -> None:
    """Set who may read documents (by id, path or folder); every change is audited."""
    with open_assistant() as assistant:
        name = collection or assistant.settings.collection
        done = assistant.admin(cli_actor()).set_groups(name, targets, parse_groups(groups))
    changes = [
        {
            "id": change.document.id,
            "source": change.document.source_path,
            "before": list(change.before),
            "after": list(change.after),
        }
        for change in done
    ]
    if as_json:
        print_json(changes)
        return
    for change in changes:
        before = ",".join(change["before"]) or "everyone"
        after = ",".join(change["after"]) or "everyone"
        out.print(f"{shown(change['source'])}: {shown(before)} -> {shown(after)}")

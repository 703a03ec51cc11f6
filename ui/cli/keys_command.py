"""``bllossom-rag keys create|list|revoke``: API keys kept in the store as hashes."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.table import Table

from rag.access import parse_groups
from ui.cli.app import JsonOption, app, cli_actor, err, open_assistant, out, print_json, shown

keys_app = typer.Typer(
    help="API keys for the RAG API and the worker, kept in the store as hashes.",
    no_args_is_help=True,
)
app.add_typer(keys_app, name="keys")
NameArgument = Annotated[str, typer.Argument(help="The key's name (unique; what the audit says).")]


@keys_app.command("create")
def keys_create(
    name: NameArgument,
    groups: Annotated[str, typer.Option(help="Comma-separated groups it may read.")] = "",
    write: Annotated[
        bool, typer.Option("--write", help="It may also push and delete documents.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Make a key: it is printed once, and only its hash is kept."""
    with open_assistant() as assistant:
        issued = assistant.admin(cli_actor()).create_key(name, parse_groups(groups), write=write)
    record = issued.record
    if as_json:
        print_json(
            {
                "name": record.name,
                "key": issued.key,
                "groups": list(record.groups),
                "scopes": list(record.scopes),
            }
        )
        return
    out.print(issued.key)
    err.print(
        f"[dim]Key {shown(record.name)} made (groups: {shown(','.join(record.groups) or '-')}; "
        f"{'/'.join(record.scopes)}). It is shown this once; the store keeps only its hash.[/]"
    )


@keys_app.command("list")
def keys_list(as_json: JsonOption = False) -> None:
    """The keys: name, groups, scopes, when made, last used and revoked (never the keys)."""
    with open_assistant() as assistant:
        keys = assistant.store.api_keys()
    if as_json:
        print_json(
            [
                {
                    "name": k.name,
                    "groups": list(k.groups),
                    "scopes": list(k.scopes),
                    "created_at": k.created_at,
                    "last_used_at": k.last_used_at,
                    "revoked_at": k.revoked_at,
                }
                for k in keys
            ]
        )
        return
    table = Table(title="API keys")
    for column in ("name", "groups", "scopes", "created", "last used", "revoked"):
        table.add_column(column)
    for k in keys:
        table.add_row(
            shown(k.name),
            shown(",".join(k.groups) or "-"),
            "/".join(k.scopes),
            _when(k.created_at),
            _when(k.last_used_at),
            _when(k.revoked_at),
        )
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(name: NameArgument) -> None:
    """Revoke a key: the servers refuse it on its next request, with no restart."""
    with open_assistant() as assistant:
        assistant.admin(cli_actor()).revoke_key(name)
    out.print(f"revoked {shown(name)}")


def _when(moment: float | None) -> str:
    return "-" if moment is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(moment))

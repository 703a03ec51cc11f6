"""``bllossom-rag keys create|list|revoke``: API keys kept in the store as hashes."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.table import Table

from rag.access import parse_groups
from rag.access.audit import AuditEntry
from rag.access.keys import ApiKey, Scope, key_digest, new_key
from rag.errors import BllossomRagError
from rag.store import DocumentStore
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
    key = new_key()
    scopes: tuple[Scope, ...] = ("read", "write") if write else ("read",)
    record = ApiKey(name, key_digest(key), tuple(parse_groups(groups)), scopes, time.time())
    with open_assistant() as assistant:
        if not name.strip():
            msg = "a key needs a name: bllossom-rag keys create NAME"
            raise BllossomRagError(msg)
        if not assistant.store.add_key(record):
            msg = f"a key named {name!r} exists; revoke it or choose another name"
            raise BllossomRagError(msg)
        _audit(assistant.store, "created", record)
    if as_json:
        print_json(
            {"name": name, "key": key, "groups": list(record.groups), "scopes": list(scopes)}
        )
        return
    out.print(key)
    err.print(
        f"[dim]Key {shown(name)} made (groups: {shown(','.join(record.groups) or '-')}; "
        f"{'/'.join(scopes)}). It is shown this once; the store keeps only its hash.[/]"
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
        store = assistant.store
        record = next((k for k in store.api_keys() if k.name == name), None)
        if record is None or not store.revoke_key(name, time.time()):
            state = "no key" if record is None else "an already revoked key"
            msg = f"{state} named {name!r} (see: bllossom-rag keys list)"
            raise BllossomRagError(msg)
        _audit(store, "revoked", record)
    out.print(f"revoked {shown(name)}")


def _audit(store: DocumentStore, what: str, key: ApiKey) -> None:
    actor = cli_actor()
    store.append_audit(
        AuditEntry(
            time=time.time(),
            who=actor.who,
            surface=actor.surface,
            action="key",
            detail={"key": key.name, "change": what, "groups": list(key.groups)},
        )
    )


def _when(moment: float | None) -> str:
    return "-" if moment is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(moment))

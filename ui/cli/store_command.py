"""``bllossom-rag store copy --to postgresql://...``: move a store to another backend.

The source is the store the settings name (the embedded one in ``data_dir``, unless
``store.url`` is set); the target is a PostgreSQL URL or a folder for an embedded store. Vectors
are copied, never recomputed, so no model loads. Copying again finishes an interrupted copy and
skips what is already there (see :mod:`rag.store.copy`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rag.errors import ConfigError
from rag.store import open_store
from rag.store.copy import copy_registry, copy_store
from rag.store.factory import STORE_URL_SCHEMES
from rag.text.display import plural
from ui.cli.app import JsonOption, app, err, open_assistant, out, print_json, shown

store_app = typer.Typer(help="Copy the store to another backend.", no_args_is_help=True)
app.add_typer(store_app, name="store")


@store_app.command("copy")
def store_copy(
    to: Annotated[
        str,
        typer.Option(
            "--to",
            help="Target: postgresql://user:password@host/db, or a folder for an embedded store.",
        ),
    ],
    as_json: JsonOption = False,
) -> None:
    """Copy every collection, document, chunk, vector and image into the target store."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with open_assistant() as assistant:
        settings = assistant.settings
        source = assistant.store
        is_url = to.startswith(STORE_URL_SCHEMES)
        if not is_url and Path(to).expanduser().resolve() == settings.data_dir.resolve():
            msg = f"--to {to} is the source store itself; name another folder or a database"
            raise ConfigError(msg)
        total = sum(info.chunks for info in source.collections())
        with open_store(
            settings.data_dir if is_url else Path(to).expanduser(),
            to if is_url else None,
            pool_size=settings.store.pool_size,
        ) as target:
            if repr(target) == repr(source):
                msg = "--to names the source store itself"
                raise ConfigError(msg)
            columns = (
                TextColumn("copying"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("chunks"),
            )
            with Progress(*columns, console=err, transient=True) as progress:
                task = progress.add_task("copy", total=total)
                copies = copy_store(source, target, lambda n: progress.advance(task, n))
            registry = copy_registry(source, target)
            target_infos = {info.name: info for info in target.collections()}
    if as_json:
        print_json(
            {
                "collections": [
                    {
                        "name": c.name,
                        "documents": c.documents,
                        "copied": c.copied,
                        "chunks": c.chunks,
                        "images": c.images,
                        "missing_images": c.missing_images,
                        "target_documents": target_infos[c.name].documents,
                        "target_chunks": target_infos[c.name].chunks,
                    }
                    for c in copies
                ],
                "keys": registry.keys,
                "people": registry.people,
                "audit_entries": registry.audit_entries,
            }
        )
        return
    for c in copies:
        held = target_infos[c.name]
        out.print(
            f"{shown(c.name)}: {plural(c.documents, 'document')} ({c.copied} copied now, "
            f"{c.documents - c.copied} already there), {plural(c.chunks, 'chunk')}; "
            f"the target holds {plural(held.documents, 'document')} and "
            f"{plural(held.chunks, 'chunk')}"
        )
        if c.missing_images:
            err.print(
                f"[yellow]Note:[/] {plural(c.missing_images, 'stored image')} of "
                f"{shown(c.name)} had no file in the source; their chunks keep their captions"
            )
    if not copies:
        out.print("The source store has no collections; nothing to copy.")
    out.print(
        f"{plural(registry.keys, 'API key')}, {plural(registry.people, 'person', 'people')} and "
        f"{plural(registry.audit_entries, 'audit entry', 'audit entries')} copied"
    )

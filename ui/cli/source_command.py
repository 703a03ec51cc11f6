"""``bllossom-rag source``: open a cited passage in its document (what a source's ``id`` opens).

Prints the passage with its document's path (relative to where it was ingested from), page and
heading path, between the passages before and after it; ``--page-image`` writes its PDF page
with the passage highlighted, ``--original`` the original file (only while the file is still
what was ingested). It reads with the asker's groups, as ``ask`` does, and says the same thing
for a source that does not exist and one those groups may not read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rag.access import Access, parse_groups
from rag.errors import BllossomRagError
from ui.cli.app import (
    CollectionOption,
    JsonOption,
    app,
    cli_actor,
    open_assistant,
    out,
    print_json,
    shown,
    user_errors,
)


@app.command()
def source(
    source_id: Annotated[str, typer.Argument(help="The source's id (ask --json: sources[].id).")],
    collection: CollectionOption = None,
    user_groups: Annotated[
        str, typer.Option(help="Comma-separated groups of the reader (default: public only).")
    ] = "",
    page_image: Annotated[
        Path | None,
        typer.Option("--page-image", dir_okay=False, help="Write its PDF page (PNG) here."),
    ] = None,
    original: Annotated[
        Path | None,
        typer.Option("--original", dir_okay=False, help="Write the original file here."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Show a source's passage in its document; save its page image or original file."""
    from ingest.originals import Originals
    from rag.sources import open_passage

    with open_assistant() as assistant, user_errors():
        name = collection or assistant.settings.collection
        access = Access.for_groups(parse_groups(user_groups))
        found = open_passage(assistant.store, name, source_id, access)
        if found is None:
            msg = (
                f"no source {source_id!r} in collection {name!r} that these groups may read "
                "(the id is sources[].id of ask --json)"
            )
            raise BllossomRagError(msg)
        originals = Originals.from_settings(assistant.settings)
        document, chunk = found.document, found.chunk
        if page_image is not None:
            if not found.page_image or chunk.page is None:
                raise BllossomRagError(f"{document.shown_path}: this source has no PDF page")
            png = originals.page_png(document, chunk.page, found.boxes)
            if png is None:
                raise BllossomRagError(_gone(document.shown_path))
            page_image.write_bytes(png)
        if original is not None:
            data = originals.read(document)
            if data is None:
                raise BllossomRagError(_gone(document.shown_path))
            original.write_bytes(data)
        assistant.record_opened(
            cli_actor(), name, document.id, {"what": "passage", "chunk": chunk.id}
        )
        if as_json:
            print_json(found.to_json())
            return
        where = [shown(document.shown_path)]
        if chunk.page is not None:
            where.append(f"p. {chunk.page}")
        if chunk.heading:
            where.append(shown(chunk.heading))
        out.print("[bold]" + " · ".join(where) + "[/]")
        if found.before is not None:
            out.print(f"[dim]{shown(found.before.text, keep=chr(10))}[/]")
        out.print(shown(chunk.text, keep="\n"))
        if found.after is not None:
            out.print(f"[dim]{shown(found.after.text, keep=chr(10))}[/]")
        for saved in (page_image, original):
            if saved is not None:
                out.print(f"[dim]wrote {shown(saved)}[/]")


def _gone(path: str) -> str:
    return f"{path}: the original file is no longer what was ingested (moved, changed or deleted)"

"""``bllossom-rag audit export``: the audit trail as JSON Lines."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Annotated

import typer

from rag.access.audit import as_jsonl
from rag.errors import BllossomRagError
from rag.text.display import plural
from ui.cli.app import JsonOption, app, open_assistant, out, print_json, shown

audit_app = typer.Typer(
    help="The audit trail: who was shown which documents.", no_args_is_help=True
)
app.add_typer(audit_app, name="audit")
_SPAN = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_since(text: str) -> float:
    """``7d``, ``12h``, ``30m``, ``2w`` -> the Unix time that long ago.

    Raises:
        BllossomRagError: Not a number and a unit.

    """
    found = _SPAN.match(text.strip())
    if found is None:
        msg = f"--since {text!r}: write a number and a unit, e.g. 7d, 12h, 30m or 2w"
        raise BllossomRagError(msg)
    return time.time() - float(found.group(1)) * _SECONDS[found.group(2)]


@audit_app.command("export")
def audit_export(
    path: Annotated[Path, typer.Argument(help="The JSONL file to write (one entry a line).")],
    since: Annotated[
        str | None, typer.Option(help="Only entries this recent: 7d, 12h, 30m, 2w.")
    ] = None,
    who: Annotated[
        str | None, typer.Option(help="Only this person's or key's entries (as recorded).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Write the trail: time, who, surface, action, collection, question, documents."""
    with open_assistant() as assistant:
        start = parse_since(since) if since else 0.0
        entries = assistant.store.audit_entries(start, who)
        try:
            path.write_text(as_jsonl(entries), encoding="utf-8")
        except OSError as error:
            msg = f"{path}: cannot write the export ({error.strerror})"
            raise BllossomRagError(msg) from None
    if as_json:
        print_json({"path": str(path), "written": len(entries)})
        return
    out.print(f"{plural(len(entries), 'entry', 'entries')} written to {shown(path)}")

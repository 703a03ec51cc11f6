"""What every reader in the worker answers: blocks and notes, or the one reason it refuses."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ingest.extractors.nearby import Block, as_json
from rag.errors import IngestError, Message

Extract = Callable[[bytes, dict[str, Any]], dict[str, Any]]


def answer(
    blocks: Sequence[Block], notes: Iterable[Message] = (), run_notes: Iterable[str] = ()
) -> dict[str, Any]:
    """The worker's JSON for a file read (each distinct note once, in order)."""
    return {
        "blocks": as_json(blocks),
        "notes": [note.to_json() for note in dict.fromkeys(notes)],
        "run_notes": list(dict.fromkeys(run_notes)),
    }


def rejecting(extract: Extract) -> Extract:
    """``extract``, answering a file it rejects (:class:`IngestError`) with that one reason."""

    @functools.wraps(extract)
    def wrapped(data: bytes, options: dict[str, Any]) -> dict[str, Any]:
        try:
            return extract(data, options)
        except IngestError as error:
            return error.to_json()

    return wrapped

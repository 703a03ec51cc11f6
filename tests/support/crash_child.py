"""``bllossom-rag ingest`` that kills itself with SIGKILL at a named point of the store's work.

``python -m tests.support.crash_child STAGE RECORD INGEST-ARGUMENTS...`` runs the real command line
in this process with hooks around the store's real functions; at STAGE the hook writes what the
store had durably done by then to the JSON file RECORD and sends itself SIGKILL (no cleanup, no
``finally``, no atexit: what a power cut or the OOM killer leaves). Stages:

- ``mid-transaction``: inside the second commit, after its rows are written, before ``COMMIT``;
- ``after-commit``: the second commit is durable, nothing after it (no view caught up or saved);
- ``mid-checkpoint``: the first view file of the final checkpoint half written, not renamed;
- ``before-manifest``: a view's new files are in place, its manifest not yet switched to them.
"""

from __future__ import annotations

import json
import os
import runpy
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import rag.store.checkpoint as checkpoint
import rag.store.database as database
from rag.store.records import DocumentUpdate

STAGES = ("mid-transaction", "after-commit", "mid-checkpoint", "before-manifest")


class Crash:
    """Counts the store's durable commits and dies at the chosen stage."""

    def __init__(self, stage: str, record: Path) -> None:
        self.stage = stage
        self.record = record
        self.commits = 0  # commits that returned, so are durable

    def die(self, **facts: Any) -> None:
        self.record.write_text(json.dumps({"commits": self.commits, **facts}))
        os.kill(os.getpid(), signal.SIGKILL)

    def install(self) -> None:
        write_commit, commit = database.write_commit, database.Database.commit
        atomic_write = checkpoint.atomic_write

        def writing(conn: Any, collection: str, updates: Sequence[DocumentUpdate], *rest: Any):
            delta = write_commit(conn, collection, updates, *rest)
            if self.stage == "mid-transaction" and self.commits == 1:
                self.die(in_flight=[u.document.id for u in updates])
            return delta

        def committing(db: Any, collection: str, updates: Sequence[DocumentUpdate], *rest: Any):
            delta = commit(db, collection, updates, *rest)
            self.commits += 1
            if self.stage == "after-commit" and self.commits == 2:
                self.die(committed=[u.document.id for u in updates])
            return delta

        def publishing(path: Path, content: bytes | Callable[[str], object]) -> None:
            if self.stage == "before-manifest" and path.name == checkpoint.MANIFEST:
                self.die(folder=str(path.parent))
            if self.stage == "mid-checkpoint":

                def half_then_die(tmp: str) -> None:
                    if callable(content):
                        content(tmp)
                    else:
                        Path(tmp).write_bytes(content)
                    data = Path(tmp).read_bytes()
                    Path(tmp).write_bytes(data[: len(data) // 2])
                    self.die(folder=str(path.parent))

                atomic_write(path, half_then_die)
            atomic_write(path, content)

        database.write_commit = writing
        database.Database.commit = committing  # type: ignore[method-assign]
        checkpoint.atomic_write = publishing


def main() -> None:
    stage, record, *arguments = sys.argv[1:]
    if stage not in STAGES:
        sys.exit(f"unknown stage {stage!r}; one of {', '.join(STAGES)}")
    Crash(stage, Path(record)).install()
    sys.argv = ["bllossom-rag", *arguments]
    runpy.run_module("ui.cli", run_name="__main__", alter_sys=True)  # exits; the test sees how


if __name__ == "__main__":
    main()

"""``sync --watch``: folders synced after their files change, sites and repositories on schedule.

Every source is synced once at the start, then again when its schedule comes round
(``schedule``, default an hour). A folder is also watched for file-system events (watchdog:
inotify on Linux): a change marks it, and it is synced once the folder has been quiet for
``[sync] debounce_s`` (a copy of a hundred files is one sync, not a hundred), or at the latest
:data:`MAX_WAIT_S` after its first change while changes keep coming. Hidden files (editors'
swap files, the atomic writes of other tools) are not changes: the pipeline ignores them too.
A folder that cannot be watched (not mounted yet) is synced on its schedule and watched as
soon as it can be. Syncs run one at a time, in the configuration's order, each reported as it
ends; the watch stops on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from ingest.sources.report import SyncReport
from ingest.sources.sync import Syncer
from rag.config.sync_sections import SourceSettings

log = logging.getLogger("bllossom_rag.sync")
# A folder that keeps changing is synced at least this often.
MAX_WAIT_S = 60.0


class _Changes(FileSystemEventHandler):
    """Puts the source's name on the queue for every change of a file that is not hidden."""

    def __init__(self, name: str, root: Path, changes: queue.Queue[str]) -> None:
        self.name = name
        self.root = root
        self.changes = changes

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return  # reading is no change
        if event.is_directory and event.event_type == "modified":
            return  # a folder's entries changed: the entry's own event says which
        paths = [event.src_path, getattr(event, "dest_path", "") or ""]
        for path in filter(None, paths):
            try:
                relative = Path(str(path)).relative_to(self.root).parts
            except ValueError:
                relative = ()
            if not any(part.startswith(".") for part in relative):
                self.changes.put(self.name)
                return


class Watcher:
    """Keeps sources in step until stopped.

    Args:
        syncer: Syncs one source.
        sources: The sources to keep in step.
        on_report: Called with each sync's report as it ends.
        debounce_s: Quiet time after a folder's last change before it is synced (default:
            ``[sync] debounce_s``).

    """

    def __init__(
        self,
        syncer: Syncer,
        sources: Sequence[SourceSettings],
        on_report: Callable[[SyncReport], None],
        debounce_s: float | None = None,
    ) -> None:
        self.syncer = syncer
        self.sources = list(sources)
        self.on_report = on_report
        self.debounce_s = syncer.settings.sync.debounce_s if debounce_s is None else debounce_s
        self.changes: queue.Queue[str] = queue.Queue()
        self.observer = Observer()
        self._watched: set[str] = set()

    def run(self) -> None:
        """Sync everything now, then keep it in step until interrupted (KeyboardInterrupt)."""
        due = dict.fromkeys((s.name for s in self.sources), 0.0)
        first_change: dict[str, float] = {}
        last_change: dict[str, float] = {}
        self.observer.start()
        try:
            while True:
                now = time.monotonic()
                for source in self.sources:
                    name = source.name
                    quiet = name in last_change and now - last_change[name] >= self.debounce_s
                    waited = name in first_change and now - first_change[name] >= MAX_WAIT_S
                    if now >= due[name] or quiet or waited:
                        first_change.pop(name, None)
                        last_change.pop(name, None)
                        self._watch(source)
                        self.on_report(self.syncer.sync(source))
                        due[name] = time.monotonic() + source.schedule_s
                self._wait(due, first_change, last_change)
        finally:
            self.observer.stop()
            self.observer.join(timeout=5)

    def _wait(
        self, due: dict[str, float], first_change: dict[str, float], last_change: dict[str, float]
    ) -> None:
        """Sleep until the next schedule or the end of a quiet period, taking changes in."""
        now = time.monotonic()
        wake = min(due.values())
        for name, last in last_change.items():
            wake = min(wake, last + self.debounce_s, first_change[name] + MAX_WAIT_S)
        try:
            name = self.changes.get(timeout=max(0.0, wake - now))
        except queue.Empty:
            return
        while True:
            changed = time.monotonic()
            first_change.setdefault(name, changed)
            last_change[name] = changed
            try:
                name = self.changes.get_nowait()
            except queue.Empty:
                return

    def _watch(self, source: SourceSettings) -> None:
        """Watch a folder source's files, once it can be watched."""
        if source.type != "folder" or source.name in self._watched or source.path is None:
            return
        root = source.path.resolve()
        try:
            self.observer.schedule(
                _Changes(source.name, root, self.changes), str(root), recursive=True
            )
        except OSError as error:  # not there (yet): synced on its schedule meanwhile
            log.info("cannot watch %s yet: %s", root, error)
            return
        self._watched.add(source.name)

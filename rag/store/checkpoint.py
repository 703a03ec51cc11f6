"""Atomic checkpoints for the store's rebuildable views (FAISS, BM25).

A view writes its data under fresh names (``<name>.<seq>.<ext>``, each with
:func:`rag.runtime.files.atomic_write`: temp file, fsync, rename), then atomically switches
``manifest.json`` to point at them, then deletes older files. A reader therefore sees the old
checkpoint or the new one, never half of one, and a crash mid-write leaves only an unreferenced
temp file (the next checkpoint deletes it). Two processes checkpointing the same view serialize on
an ``flock`` so one cannot delete what the other's manifest has just switched to.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from rag.runtime.files import atomic_write

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"


class UnusableCheckpointError(Exception):
    """A checkpoint that cannot serve its view (the view is rebuilt; never shown to a user)."""


def whole_number(manifest: Mapping[str, Any], key: str) -> int:
    """``manifest[key]`` if it is a non-negative integer, else :class:`UnusableCheckpointError`."""
    value = manifest.get(key)
    if type(value) is not int or value < 0:  # bool is an int subclass, and not a count
        msg = f"manifest field {key!r} is {value!r}, not a whole number"
        raise UnusableCheckpointError(msg)
    return value


def expect(manifest: Mapping[str, Any], key: str, value: object) -> None:
    """Insist that ``manifest[key] == value`` (a file name, a size), else the view rebuilds.

    File names are compared with the names the view itself would write, so a manifest can
    never point a reader outside its folder.
    """
    found = manifest.get(key)
    if type(found) is not type(value) or found != value:
        msg = f"manifest field {key!r} is {found!r}, expected {value!r}"
        raise UnusableCheckpointError(msg)


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The folder's manifest, or None when it is missing or unreadable (then: rebuild)."""
    try:
        data = json.loads((folder / MANIFEST).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        logger.warning("ignoring %s/%s: %s", folder, MANIFEST, error)
        return None
    return data if isinstance(data, dict) else None


@contextlib.contextmanager
def exclusive(folder: Path) -> Iterator[None]:
    """Hold the folder's lock (``folder/.lock``): one writer of the files in it at a time."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def publish(
    folder: Path, files: dict[str, Callable[[str], object]], manifest: dict[str, Any]
) -> None:
    """Write ``files`` (name -> writer), switch the manifest to them, delete the rest.

    Args:
        folder: The view's folder.
        files: New file names and the functions that write them to a temp path.
        manifest: The manifest to publish; it should name ``files``.

    """
    with exclusive(folder):
        for name, write in files.items():
            atomic_write(folder / name, write)
        atomic_write(folder / MANIFEST, json.dumps(manifest).encode())
        for old in folder.iterdir():
            if old.name not in files and old.name not in (MANIFEST, ".lock"):
                old.unlink(missing_ok=True)

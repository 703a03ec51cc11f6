"""Files that are never seen half-written, and paths that stay inside their folder.

Every file the project writes for later reading (view checkpoints, stored images, uploads, the
configuration the demo writes) goes through :func:`atomic_write`: the bytes go to a fresh temp
file beside the target (created with ``O_EXCL | O_NOFOLLOW``, so a link planted under that name
is never written through), are fsync'd, and the temp file is renamed over the target, then the
folder is fsync'd. A reader sees the old file or the new one; a crash leaves only a dot-named
temp file that nothing refers to. The cost is two fsyncs per file, which is why bulk data lives
in SQLite and only checkpoints and images are files.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

TEMP_PREFIX = "."
TEMP_SUFFIX = ".tmp"


def temp_name(path: Path) -> Path:
    """A fresh, hidden temp file name beside ``path`` (unique across processes and threads)."""
    return path.with_name(
        f"{TEMP_PREFIX}{path.name}.{os.getpid()}.{secrets.token_hex(4)}{TEMP_SUFFIX}"
    )


def atomic_write(path: Path, content: bytes | Callable[[str], object], mode: int = 0o644) -> None:
    """Replace ``path`` with new content atomically and durably.

    Args:
        path: The file to write; its folder is created when missing.
        content: The bytes, or a function that writes the file at the temp path it is given
            (for writers that insist on a path, such as ``faiss.write_index``).
        mode: Permissions of a new file.

    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_name(path)
    descriptor = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            if isinstance(content, bytes):
                handle.write(content)
        if not isinstance(content, bytes):
            content(str(tmp))
        with tmp.open("rb") as written:
            os.fsync(written.fileno())
        tmp.replace(path)  # rename replaces a link at ``path`` itself, never its target
    finally:
        tmp.unlink(missing_ok=True)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def is_inside(path: Path | str, folder: Path | str) -> bool:
    """Whether ``path`` is ``folder`` or lies under it, both resolved (links followed)."""
    return Path(path).resolve().is_relative_to(Path(folder).resolve())

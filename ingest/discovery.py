"""Find the files to ingest under the paths a user names.

Folders are walked recursively; hidden files and folders (``.git``, ``.DS_Store``) and files of
unsupported types inside folders are passed over quietly, while a file named explicitly that
cannot be ingested is reported. A symlink that resolves outside the root it was found under is
refused, so a crafted folder cannot make the ingester read ``/etc`` or another user's files.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from rag.errors import IngestError


@dataclass(frozen=True)
class Candidate:
    """A file to ingest: its resolved path, or the reason it cannot be."""

    path: Path
    error: str | None = None


def discover(paths: Iterable[Path], supported_suffixes: frozenset[str]) -> Iterator[Candidate]:
    """Yield every file under ``paths`` once, in a stable order."""
    seen: set[Path] = set()
    for given in paths:
        for candidate in _discover_one(Path(given).expanduser(), supported_suffixes):
            if candidate.path not in seen:
                seen.add(candidate.path)
                yield candidate


def _discover_one(given: Path, supported: frozenset[str]) -> Iterator[Candidate]:
    if not given.exists():
        yield Candidate(given.absolute(), "no such file or directory")
        return
    if given.is_file():
        path = given.resolve()
        if path.suffix.lower() not in supported:
            yield Candidate(path, f"unsupported file type {path.suffix or '(none)'}")
        else:
            yield Candidate(path)
        return
    root = given.resolve()
    for folder, subfolders, files in os.walk(root, followlinks=False):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        for name in sorted(files):
            if name.startswith(".") or Path(name).suffix.lower() not in supported:
                continue
            yield _inside_root(Path(folder) / name, root)


def _inside_root(path: Path, root: Path) -> Candidate:
    resolved = path.resolve()
    if not resolved.is_relative_to(root):
        return Candidate(path, f"symlink leaves the ingested folder (points to {resolved})")
    if not resolved.is_file():
        return Candidate(path, "not a regular file")
    return Candidate(resolved)


def read_capped(path: Path, max_bytes: int) -> bytes:
    """Read a whole file, refusing files over ``max_bytes`` before reading them."""
    size = path.stat().st_size
    if size > max_bytes:
        msg = f"file is {size:,} bytes, over the {max_bytes:,}-byte limit (max_file_bytes)"
        raise IngestError(msg)
    if size == 0:
        msg = "file is empty"
        raise IngestError(msg)
    with path.open("rb") as handle:
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:  # grew while we read it
        msg = f"file grew past the {max_bytes:,}-byte limit while being read"
        raise IngestError(msg)
    return data

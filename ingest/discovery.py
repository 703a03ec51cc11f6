"""Find the files to ingest under the paths a user names.

Folders are walked recursively; hidden files and folders (``.git``, ``.DS_Store``) are passed
over quietly, files of unsupported types inside folders are handed on as *skipped* (the summary
counts them by type, so a folder of ``.hwp`` files does not look ingested, yet they are not
failures), and a file named explicitly that cannot be ingested is reported as failed. A symlink
that resolves outside the root it was found under is refused, so a crafted folder cannot make
the ingester read ``/etc`` or another user's files.

An image's caption may sit next to it as ``<image file name>.txt`` (``chart.png.txt``). Such a
sidecar belongs to its image: it is found here (under the same symlink rule), read with the
image, and never ingested as a document of its own.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ingest.formats import IMAGE_SUFFIXES, SUPPORTED_SUFFIXES
from rag.errors import IngestError

SIDECAR_SUFFIX = ".txt"


@dataclass(frozen=True)
class Candidate:
    """A file to ingest: its resolved path and caption sidecar, or the reason it cannot be."""

    path: Path
    error: str | None = None
    sidecar: Path | None = None
    skipped: bool = False  # found in a folder, of a type no loader reads


def discover(paths: Iterable[Path | str]) -> Iterator[Candidate]:
    """Yield every file under ``paths`` once, in a stable order."""
    seen: set[Path] = set()
    for given in paths:
        for candidate in _discover_one(Path(given).expanduser()):
            if candidate.path not in seen:
                seen.add(candidate.path)
                yield candidate


def _discover_one(given: Path) -> Iterator[Candidate]:
    if not given.exists():
        yield Candidate(given.absolute(), "no such file or directory")
        return
    if given.is_file():
        path = given.resolve()
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            yield Candidate(path, f"unsupported file type {path.suffix or '(none)'}")
        elif _is_sidecar(path.name, lambda image: (path.parent / image).exists()):
            image = path.name[: -len(SIDECAR_SUFFIX)]
            yield Candidate(path, f"caption file of {image}: ingest the image to use it")
        else:
            yield Candidate(path, sidecar=_sidecar(path, path.parent))
        return
    root = given.resolve()
    for folder, subfolders, files in os.walk(root, followlinks=False):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        names = set(files)
        for name in sorted(files):
            if name.startswith(".") or _is_sidecar(name, names.__contains__):
                continue
            if Path(name).suffix.lower() not in SUPPORTED_SUFFIXES:
                yield Candidate(Path(folder) / name, skipped=True)
                continue
            yield _inside_root(Path(folder) / name, root)


def _is_sidecar(name: str, has_neighbour: Callable[[str], bool]) -> bool:
    """Whether ``name`` is ``<image>.txt`` for an image present in the same folder."""
    if not name.lower().endswith(SIDECAR_SUFFIX):
        return False
    image = name[: -len(SIDECAR_SUFFIX)]
    return Path(image).suffix.lower() in IMAGE_SUFFIXES and has_neighbour(image)


def _inside_root(path: Path, root: Path) -> Candidate:
    resolved = path.resolve()
    if not resolved.is_relative_to(root):
        return Candidate(path, f"symlink leaves the ingested folder (points to {resolved})")
    if not resolved.is_file():
        return Candidate(path, "not a regular file")
    return Candidate(resolved, sidecar=_sidecar(path, root))


def _sidecar(path: Path, root: Path) -> Path | None:
    """The caption file next to an image, if it is a regular file inside ``root``."""
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        return None
    sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
    if not sidecar.exists():
        return None
    resolved = sidecar.resolve()
    if not resolved.is_relative_to(root) or not resolved.is_file():
        return None
    return resolved


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

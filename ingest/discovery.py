"""Find the files to ingest under the paths a user names, before any model is loaded.

Folders are walked recursively; hidden files and folders (``.git``, ``.DS_Store``) are passed
over quietly, files of unsupported types inside folders are handed on as *skipped* (the summary
counts them by type, so a folder of ``.hwp`` files does not look ingested, yet they are not
failures), and a file named explicitly that cannot be ingested is reported as failed. A symlink
that resolves outside the root it was found under is refused, so a crafted folder cannot make
the ingester read ``/etc`` or another user's files.

Mistakes in the paths themselves cost nothing to find, so :func:`find_files` finds them first
and refuses the whole run with one line: a path that does not exist, a folder with nothing to
ingest in it. Loading an embedder takes seconds to a minute; a typo should not.

An image's caption may sit next to it as ``<image file name>.txt`` (``chart.png.txt``). Such a
sidecar belongs to its image: it is found here (under the same symlink rule), read with the
image, and never ingested as a document of its own.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from ingest.formats import IMAGE_SUFFIXES, SUPPORTED_SUFFIXES, unsupported
from ingest.identity import document_key
from rag.errors import IngestError

SIDECAR_SUFFIX = ".txt"


@dataclass(frozen=True)
class Candidate:
    """A file to ingest: its resolved path and caption sidecar, or the reason it cannot be.

    Attributes:
        path: The file that is read.
        error: Why it cannot be ingested, if it cannot.
        sidecar: Its caption file.
        skipped: Found in a folder, of a type no loader reads.
        key: Its :func:`~ingest.identity.document_key`.
        recorded_as: The path its document is recorded under, when that is not ``path``
            (an upload is read from where it waits until it is ingested).

    """

    path: Path
    error: IngestError | None = None
    sidecar: Path | None = None
    skipped: bool = False
    key: str = ""
    recorded_as: Path | None = None

    @property
    def source(self) -> Path:
        """The path the document is recorded under (and reported by)."""
        return self.recorded_as or self.path


@dataclass(frozen=True)
class FoundFiles:
    """Everything found under the paths of one run.

    Attributes:
        roots: The named paths, absolute, existing or not (pruning looks under them).
        candidates: One per file found, skipped ones included, in a stable order.

    """

    roots: tuple[Path, ...]
    candidates: tuple[Candidate, ...]

    @property
    def to_ingest(self) -> list[Candidate]:
        """The candidates that are not skipped (failures included: each gets its result)."""
        return [c for c in self.candidates if not c.skipped]

    @property
    def skipped(self) -> list[Candidate]:
        """Files of types no loader reads."""
        return [c for c in self.candidates if c.skipped]


def find_files(
    paths: Iterable[Path | str], *, allow_missing: bool = False, record_in: Path | None = None
) -> FoundFiles:
    """Every file under ``paths`` once, or an error about the paths themselves.

    Args:
        paths: Files and folders.
        allow_missing: A path that does not exist, or a folder with nothing to ingest, is
            not an error (pruning removes what was recorded there).
        record_in: Record each (named) file as if it lay in this folder.

    Raises:
        IngestError: A path does not exist, or a folder holds nothing to ingest.

    """
    roots: list[Path] = []
    found: dict[Path, Candidate] = {}
    for given in paths:
        path = Path(given).expanduser()
        roots.append(path.absolute())
        if not path.exists():
            if allow_missing:
                continue
            msg = f"{path}: no such file or directory"
            raise IngestError(msg)
        here = list(_discover_one(path))
        if path.is_dir() and not allow_missing and all(c.skipped for c in here):
            raise IngestError(_nothing_found(path, here))
        for candidate in here:
            if record_in is not None:
                candidate = replace(candidate, recorded_as=record_in / candidate.path.name)
            found.setdefault(candidate.path, candidate)
    return FoundFiles(tuple(roots), tuple(found.values()))


def count_types(paths: Iterable[Path | str]) -> str:
    """Files counted by type, most common first: ``.hwp 5, .xlsx 2``."""
    suffixes = Counter(Path(path).suffix.lower() or "(no suffix)" for path in paths)
    return ", ".join(f"{suffix} {count}" for suffix, count in suffixes.most_common())


def _nothing_found(folder: Path, skipped: list[Candidate]) -> str:
    message = f"no files found in {folder}"
    if skipped:
        types = count_types(c.path for c in skipped)
        message += f" (skipped {len(skipped)} of types no loader reads: {types})"
    supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
    return f"{message}; supported: {supported}"


def _discover_one(given: Path) -> Iterator[Candidate]:
    if given.is_file():
        path = given.resolve()
        key = document_key(path, None)
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            yield Candidate(path, unsupported(path.suffix), key=key)
        elif is_sidecar(path.name, lambda image: (path.parent / image).exists()):
            image = path.name[: -len(SIDECAR_SUFFIX)]
            template = "caption file of {image}: ingest the image to use it"
            yield Candidate(path, IngestError.because(template, image=image), key=key)
        else:
            yield Candidate(path, sidecar=_sidecar(path, path.parent), key=key)
        return
    root = given.resolve()
    for folder, subfolders, files in os.walk(root, followlinks=False):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        names = set(files)
        for name in sorted(files):
            if name.startswith(".") or is_sidecar(name, names.__contains__):
                continue
            if Path(name).suffix.lower() not in SUPPORTED_SUFFIXES:
                yield Candidate(Path(folder) / name, skipped=True)
                continue
            yield _inside_root(Path(folder) / name, root)


def is_sidecar(name: str, has_neighbour: Callable[[str], bool]) -> bool:
    """Whether ``name`` is ``<image>.txt`` for an image present in the same folder."""
    if not name.lower().endswith(SIDECAR_SUFFIX):
        return False
    image = name[: -len(SIDECAR_SUFFIX)]
    return Path(image).suffix.lower() in IMAGE_SUFFIXES and has_neighbour(image)


def _inside_root(path: Path, root: Path) -> Candidate:
    resolved = path.resolve()
    if not resolved.is_relative_to(root):
        template = "symlink leaves the ingested folder (points to {target})"
        return Candidate(path, IngestError.because(template, target=str(resolved)))
    if not resolved.is_file():
        return Candidate(path, IngestError.because("not a regular file"))
    return Candidate(resolved, sidecar=_sidecar(path, root), key=document_key(path, root))


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
        template = "file is {size:,} bytes, over the {limit:,}-byte limit (ingest.max_file_bytes)"
        raise IngestError.because(template, size=size, limit=max_bytes)
    if size == 0:
        raise IngestError.because("file is empty")
    with path.open("rb") as handle:
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:  # grew while we read it
        template = "file grew past the {limit:,}-byte limit while being read"
        raise IngestError.because(template, limit=max_bytes)
    return data

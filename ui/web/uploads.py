r"""Uploaded files onto disk without trusting anything the browser says about them.

A client controls an upload's name completely: ``../../.bashrc``, ``C:\\evil``, a NUL byte, a
thousand characters, a leading dot. We keep only a cleaned last path component and write it
into ``data_dir/uploads/<collection>/`` ourselves, atomically and without following symlinks.
An upload first lands in a hidden staging folder and takes its place only once it is
ingested, so a file that fails never replaces the one it was named after. What the bytes
*are* is not decided here: the saved file goes through the same ingestion pipeline (size cap,
loaders, content checks) as a file named on the command line.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import shutil
import unicodedata
from collections.abc import Iterator
from pathlib import Path

from rag.errors import BllossomRagError
from rag.runtime.files import atomic_write

UPLOADS_FOLDER = "uploads"
STAGING_PREFIX = ".staging-"
# Most file systems allow 255 bytes per name; leave room for a temp-file prefix and suffix.
MAX_NAME_BYTES = 200
_UNSAFE = re.compile(r"[^\w.\-()]+")


def safe_filename(name: str) -> str:
    """A file name that is safe to create: one component, no hidden or special names.

    Letters of any script survive (``휴가 정책.md`` -> ``휴가_정책.md``); path separators,
    control characters and other punctuation become ``_``; leading dots are dropped.
    """
    name = unicodedata.normalize("NFC", name)
    name = re.split(r"[/\\]", name)[-1]
    name = _UNSAFE.sub("_", name).lstrip("._")
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    suffix = suffix[:16]
    stem = stem.strip("._") or "upload"
    budget = MAX_NAME_BYTES - len(suffix.encode()) - 1
    stem = stem.encode()[:budget].decode(errors="ignore")
    return f"{stem}.{suffix}" if suffix else stem


def uploads_folder(data_dir: Path, collection: str) -> Path:
    """``data_dir/uploads/<collection>`` (the collection name is validated by the caller).

    ``data_dir`` is resolved (the operator may keep it behind a link); the folders below it are
    not, so a link planted there is still seen and refused.
    """
    return Path(data_dir).expanduser().resolve() / UPLOADS_FOLDER / collection


def save_upload(folder: Path, name: str, data: bytes) -> Path:
    """Write ``data`` as ``folder/safe_filename(name)`` atomically; return the path.

    The same name written again replaces the file (the rename replaces a symlink planted at
    the name, never the file it points to).
    """
    _refuse_symlink(folder)
    target = folder / safe_filename(name)
    atomic_write(target, data, mode=0o600)
    return target


@contextlib.contextmanager
def staging(folder: Path) -> Iterator[Path]:
    """A fresh hidden folder inside ``folder`` where uploads wait until they are ingested.

    Discovery passes over hidden folders, so nothing ever ingests a staged file by walking the
    uploads folder; the folder and whatever is left in it are deleted on the way out.
    """
    folder.mkdir(parents=True, exist_ok=True)
    _refuse_symlink(folder)
    staged = folder / f"{STAGING_PREFIX}{secrets.token_hex(8)}"
    staged.mkdir(mode=0o700)
    try:
        yield staged
    finally:
        shutil.rmtree(staged, ignore_errors=True)


def _refuse_symlink(folder: Path) -> None:
    if folder.is_symlink():
        msg = f"upload folder {folder} is a symlink; refusing to write through it"
        raise BllossomRagError(msg)

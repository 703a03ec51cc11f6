r"""Uploaded files onto disk without trusting anything the browser says about them.

A client controls an upload's name completely: ``../../.bashrc``, ``C:\\evil``, a NUL byte, a
thousand characters, a leading dot. We keep only a cleaned last path component and write it
into ``data_dir/uploads/<collection>/`` ourselves, atomically and without following symlinks.
What the bytes *are* is not decided here: the saved file goes through the same ingestion
pipeline (size cap, loaders, content checks) as a file named on the command line.
"""

from __future__ import annotations

import os
import re
import secrets
import unicodedata
from pathlib import Path

from rag.errors import BllossomRagError

UPLOADS_FOLDER = "uploads"
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
    """``data_dir/uploads/<collection>`` (the collection name is validated by the caller)."""
    return Path(data_dir).expanduser() / UPLOADS_FOLDER / collection


def save_upload(folder: Path, name: str, data: bytes) -> Path:
    """Write ``data`` as ``folder/safe_filename(name)`` atomically; return the path.

    The same name uploaded again replaces the file, so ingestion sees it as the same
    document, changed or unchanged.
    """
    folder.mkdir(parents=True, exist_ok=True)
    if folder.is_symlink():
        msg = f"upload folder {folder} is a symlink; refusing to write through it"
        raise BllossomRagError(msg)
    target = folder / safe_filename(name)
    temp = folder / f".upload-{secrets.token_hex(8)}.tmp"
    # O_EXCL | O_NOFOLLOW: never write through a link planted under the temp name.
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        # rename replaces a symlink at the target itself, never the file it points to
        temp.replace(target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return target

"""Where a site source keeps its copy of each page: a file named after the page's URL path.

``http://intranet/wiki/인사/휴가`` (an HTML page) is kept as ``wiki/인사/휴가.html`` under the
source's folder, so documents read like the site and access rules match its paths. Each
folder and file name is made safe (:func:`~ingest.uploads.safe_filename`: no separators, no
leading dots, bounded length); the suffix comes from the media type when the URL's own is not
one the loaders read; a query string adds a short hash (``calendar~1a2b3c4d5e.html``); and a
name already taken by another URL adds the URL's hash. Names, once given, are kept in the sync
state, so a page keeps its document.
"""

from __future__ import annotations

import hashlib
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from ingest.formats import SUPPORTED_SUFFIXES
from ingest.uploads import safe_filename
from rag.runtime.files import atomic_write

# Media types the loaders read, by the suffix their copy gets.
MEDIA_SUFFIXES = {
    "text/html": ".html",
    "application/xhtml+xml": ".html",
    "text/plain": ".txt",
    "text/markdown": ".md",
    "text/x-markdown": ".md",
    "application/pdf": ".pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ".pptx",
    "application/x-hwp": ".hwp",
    "application/haansofthwp": ".hwp",
    "application/vnd.hancom.hwp": ".hwp",
    "application/hwp+zip": ".hwpx",
    "application/vnd.hancom.hwpx": ".hwpx",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/webp": ".webp",
    "image/gif": ".gif",
}
HTML_SUFFIXES = (".html", ".htm")


def copy_suffix(url: str, media_type: str) -> str | None:
    """The suffix of a page's copy: the URL's own when a loader reads it, else the media type's.

    None when neither is a type a loader reads (the page is skipped). The content checks of
    the pipeline decide what the bytes are either way.
    """
    own = PurePosixPath(unquote(urlsplit(url).path)).suffix.lower()
    if own in SUPPORTED_SUFFIXES:
        return own
    return MEDIA_SUFFIXES.get(media_type)


class Copies:
    """A source's folder of page copies, and which URL holds which name.

    Args:
        root: The folder.
        names: The names already given, URL -> path relative to ``root``.

    """

    def __init__(self, root: Path, names: dict[str, str]) -> None:
        self.root = root
        self._holder = {path: url for url, path in names.items()}

    def name_for(self, url: str, suffix: str) -> str:
        """A new name for the copy of ``url`` (relative, POSIX), unique in the folder."""
        parts = urlsplit(url)
        segments = [safe_filename(s) for s in unquote(parts.path).split("/")[:-1] if s]
        last = unquote(parts.path).rsplit("/", 1)[-1]
        stem = safe_filename(last) if last else "index"
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)] or "index"
        if parts.query:
            stem += "~" + hashlib.sha256(parts.query.encode()).hexdigest()[:10]
        name = "/".join([*segments, stem + suffix])
        holder = self._holder.get(name)
        if holder is not None and holder != url:
            unique = hashlib.sha256(url.encode()).hexdigest()[:8]
            name = "/".join([*segments, f"{stem}~{unique}{suffix}"])
        self._holder[name] = url
        return name

    def path(self, name: str) -> Path:
        """The file of a copy."""
        return self.root / name

    def write(self, name: str, body: bytes) -> None:
        """Keep ``body`` as the copy ``name`` (atomically: a reader sees old or new)."""
        atomic_write(self.path(name), body, mode=0o600)

    def read(self, name: str) -> bytes | None:
        """A copy's bytes, or None when it is not there."""
        try:
            return self.path(name).read_bytes()
        except OSError:
            return None

    def delete(self, name: str) -> None:
        """Delete a copy (the page is gone); its emptied folders go too."""
        path = self.path(name)
        path.unlink(missing_ok=True)
        self._holder.pop(name, None)
        folder = path.parent
        while folder != self.root and folder.is_relative_to(self.root):
            try:
                folder.rmdir()
            except OSError:
                break
            folder = folder.parent

    def strays(self, kept: set[str]) -> list[str]:
        """Files in the folder that are no copy in ``kept`` (left by an interrupted sync)."""
        if not self.root.is_dir():
            return []
        found = (p for p in self.root.rglob("*") if p.is_file() and not p.is_symlink())
        return [
            name
            for name in (p.relative_to(self.root).as_posix() for p in found)
            if name not in kept
        ]

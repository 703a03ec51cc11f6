"""Content-addressed image files: normalized copies and thumbnails under ``data_dir/images``.

Images are stored once per distinct content (sha256 of the normalized PNG), so the same logo in a
hundred PDFs costs one file, and a chunk only needs the hash. Files are written with
:func:`rag.runtime.files.atomic_write` (dot-named temp file, fsync, rename) so a crash never leaves
a half image behind a valid hash, only a dot-named temp file that the next sweep deletes.

Because files are shared, removing a document cannot just delete "its" images: a sweep deletes
every file that no chunk refers to. An ingest stores a figure *before* the commit that refers
to it, so a sweep must not run while any ingest is between the two: ingests hold a shared lock
on ``images/.lock`` for their whole run, and a sweep takes it exclusively or, when it is busy,
skips (the running ingest sweeps when it ends). ``flock`` locks belong to open files, so this
also orders threads of one process (the UI) and frees itself when a process dies.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from rag.runtime.files import atomic_write
from rag.store.base import ImageStore

THUMBNAIL_SIZE = (256, 256)


@dataclass(frozen=True)
class EncodedImage:
    """An image as the store keeps it: its normalized PNG, that PNG's hash, a JPEG thumbnail."""

    sha256: str
    png: bytes
    thumbnail: bytes


def encode_image(image: Image.Image) -> EncodedImage:
    """Normalize an image to an RGB PNG (hashed: the hash is its name) plus a thumbnail."""
    rgb = image.convert("RGB")
    buffer = io.BytesIO()
    rgb.save(buffer, format="PNG", optimize=False)
    png = buffer.getvalue()
    rgb.thumbnail(THUMBNAIL_SIZE)
    small = io.BytesIO()
    rgb.save(small, format="JPEG", quality=85)
    return EncodedImage(hashlib.sha256(png).hexdigest(), png, small.getvalue())


class ImageFiles(ImageStore):
    """The image folder of one store.

    Args:
        root: ``data_dir/images``; created on first write.

    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        """Where the normalized PNG of ``sha256`` lives."""
        return self.root / sha256[:2] / f"{sha256}.png"

    def thumbnail_path(self, sha256: str) -> Path:
        """Where its JPEG thumbnail (at most 256x256) lives."""
        return self.root / "thumbs" / sha256[:2] / f"{sha256}.jpg"

    def put(self, image: Image.Image) -> str:
        """Store an RGB image (and its thumbnail) if new; return its content hash."""
        encoded = encode_image(image)
        self.save(encoded)
        return encoded.sha256

    def save(self, encoded: EncodedImage) -> None:
        """Write an encoded image and its thumbnail, unless they are already there."""
        target = self.path(encoded.sha256)
        if not target.exists():
            atomic_write(target, encoded.png)
        thumb = self.thumbnail_path(encoded.sha256)
        if not thumb.exists():
            atomic_write(thumb, encoded.thumbnail)

    def open(self, sha256: str) -> Image.Image:
        """Load a stored image (our own normalized PNG, so no size limits are needed)."""
        # Only the PNG decoder: a file under our hash is ours, and no other plugin gets a say.
        with Image.open(self.path(sha256), formats=["PNG"]) as stored:
            return stored.convert("RGB")

    @contextmanager
    def in_use(self) -> Iterator[None]:
        """Hold off sweeps while images are stored ahead of the commit that refers to them."""
        with self._lock_file() as lock:
            fcntl.flock(lock, fcntl.LOCK_SH)
            yield

    def sweep(self, referenced: Callable[[], set[str]]) -> int | None:
        """Delete images (and thumbnails) not in ``referenced()``, and temp files of crashes.

        Args:
            referenced: The hashes still in use, read once the lock is held.

        Returns:
            How many images were deleted, or None when an ingest holds the folder.

        """
        if not self.root.is_dir():
            return 0
        with self._lock_file() as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return None
            keep = referenced()
            deleted = 0
            for path in self.root.glob("[0-9a-f][0-9a-f]/*"):
                if path.name.startswith("."):  # a temp file, and no writer is running
                    path.unlink(missing_ok=True)
                elif path.stem not in keep:
                    path.unlink(missing_ok=True)
                    deleted += 1
            for path in self.root.glob("thumbs/*/*"):  # thumbnails of those, and their temps
                if path.name.startswith(".") or path.stem not in keep:
                    path.unlink(missing_ok=True)
            return deleted

    @contextmanager
    def _lock_file(self) -> Iterator[int]:
        self.root.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            yield descriptor
        finally:
            os.close(descriptor)  # closing releases the flock

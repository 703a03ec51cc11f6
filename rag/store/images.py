"""Content-addressed image files: normalized copies and thumbnails under ``data_dir/images``.

Images are stored once per distinct content (sha256 of the normalized PNG), so the same logo in
a hundred PDFs costs one file, and a chunk only needs the hash. Files are written atomically
(temp + rename) so a crash never leaves a half image behind a valid hash.
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

from PIL import Image

THUMBNAIL_SIZE = (256, 256)


class ImageFiles:
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
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="PNG", optimize=False)
        data = buffer.getvalue()
        sha256 = hashlib.sha256(data).hexdigest()
        target = self.path(sha256)
        if not target.exists():
            _write_atomic(target, data)
        thumb = self.thumbnail_path(sha256)
        if not thumb.exists():
            small = image.convert("RGB")
            small.thumbnail(THUMBNAIL_SIZE)
            out = io.BytesIO()
            small.save(out, format="JPEG", quality=85)
            _write_atomic(thumb, out.getvalue())
        return sha256

    def open(self, sha256: str) -> Image.Image:
        """Load a stored image (our own normalized file, so no limits are needed)."""
        with Image.open(self.path(sha256)) as stored:
            return stored.convert("RGB")


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)

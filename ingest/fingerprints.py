"""What a stored document's ``content_sha256`` is: the fingerprint of the file it was read from.

A file is unchanged when its fingerprint is: its bytes, with an image's caption sidecar's bytes,
and for a document with images also whether generator captions were asked for (a change of that
setting re-captions them). The ingestion pipeline compares fingerprints to skip unchanged
files; the source viewer compares them before it hands out or renders an original, so a file
changed since its ingest (perhaps into something other people may read) is never shown as it.
"""

from __future__ import annotations

import hashlib
from typing import Literal

CaptionMode = Literal["generated", "human"]


def file_fingerprint(data: bytes, sidecar: bytes | None = None) -> str:
    """The fingerprint of a file's bytes and its caption sidecar's, if it has one."""
    digest = hashlib.sha256(data)
    if sidecar is not None:
        digest.update(b"\x00sidecar\x00" + sidecar)
    return digest.hexdigest()


def with_images(plain: str, captions: CaptionMode) -> str:
    """The fingerprint of a document with images, whose captions were made as ``captions``."""
    return hashlib.sha256(f"{plain}\x00captions={captions}".encode()).hexdigest()


def fingerprints(data: bytes, sidecar: bytes | None = None) -> set[str]:
    """Every fingerprint a document read from these bytes may be stored with."""
    plain = file_fingerprint(data, sidecar)
    return {plain, with_images(plain, "generated"), with_images(plain, "human")}

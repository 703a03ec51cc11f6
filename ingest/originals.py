"""The original file behind a stored document, and its pages as images, for those who may read it.

A document is recorded with the path it was read from and the fingerprint of what was read
(:mod:`ingest.fingerprints`). The file is handed out, or rendered, only while it still has
that fingerprint: a file changed since its ingest (perhaps into something other people may
read) or replaced by a link is refused like a missing one. Callers check access first
(:func:`rag.sources.readable_document`); this module only reads what it is given.

A PDF page is rendered in the isolated child (:mod:`ingest.extractors.page_image`), under the
same time and memory limits as parsing, and the passage's boxes are painted on it here
(:func:`rag.sources.draw_highlight`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from ingest.discovery import SIDECAR_SUFFIX, read_capped
from ingest.file_limits import Limits
from ingest.fingerprints import fingerprints
from ingest.formats import IMAGE_SUFFIXES
from ingest.loaders.isolated import run_task
from rag.config import Settings
from rag.errors import IngestError
from rag.images import open_image
from rag.sources import Box, draw_highlight
from rag.store import DocumentRecord

# The longer side of a rendered page, in pixels: sharp on a laptop, a few hundred KB as PNG.
PAGE_PIXELS = 1600


@dataclass(frozen=True)
class Originals:
    """Reads stored documents' files back, unchanged, and renders their pages.

    Args:
        max_file_bytes: The ingest's own limit: a larger file was never ingested.
        limits: The parser's limits (the renderer runs under them).

    """

    max_file_bytes: int
    limits: Limits

    @classmethod
    def from_settings(cls, settings: Settings) -> Originals:
        """The originals under the configured limits."""
        return cls(settings.ingest.max_file_bytes, Limits.from_settings(settings))

    def read(self, document: DocumentRecord) -> bytes | None:
        """The file's bytes, or None when it is gone or no longer what was ingested."""
        path = Path(document.source_path)
        try:
            if path.is_symlink():
                return None
            data = read_capped(path, self.max_file_bytes)
            sidecar = None
            beside = path.with_name(path.name + SIDECAR_SUFFIX)
            if path.suffix.lower() in IMAGE_SUFFIXES and beside.is_file():
                sidecar = read_capped(beside, self.max_file_bytes)
        except (OSError, IngestError):
            return None
        return data if document.content_sha256 in fingerprints(data, sidecar) else None

    def page_png(
        self, document: DocumentRecord, page: int, boxes: tuple[Box, ...] = ()
    ) -> bytes | None:
        """Page ``page`` of a PDF document as a PNG with ``boxes`` highlighted.

        None when the file is not available (see :meth:`read`) or the page cannot be rendered.
        """
        data = self.read(document)
        if data is None:
            return None
        try:
            result = run_task(
                "page",
                data,
                self.limits,
                label="PDF renderer",
                options={"page": page, "size": PAGE_PIXELS},
            )
        except IngestError:
            return None
        rendered = next((b["image"] for b in result["blocks"] if b["type"] == "scan"), None)
        if rendered is None:
            return None
        image = draw_highlight(open_image(rendered, max_pixels=self.limits.max_image_pixels), boxes)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", optimize=True)
        return buffer.getvalue()

"""The limits that keep one hostile or oversized file from costing more than its own failure."""

from __future__ import annotations

from dataclasses import dataclass

from rag.config import Settings


@dataclass(frozen=True)
class Limits:
    """Per-file limits applied while loading and chunking (file size is checked on read).

    Args:
        max_image_pixels: Larger images (standalone or embedded) are refused before decoding.
        max_images_per_file: Embedded images beyond this many are skipped.
        max_chunks_per_file: A file that would make more chunks fails before any is embedded.
        pdf_timeout_s: Wall-clock limit for parsing one PDF in its child process.
        pdf_memory_mb: Address-space limit of that child process.

    """

    max_image_pixels: int = 50_000_000
    max_images_per_file: int = 100
    max_chunks_per_file: int = 5_000
    pdf_timeout_s: float = 60.0
    pdf_memory_mb: int = 2_048

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        """The limits configured in :class:`Settings`."""
        return cls(
            max_image_pixels=settings.max_image_pixels,
            max_images_per_file=settings.max_images_per_file,
            max_chunks_per_file=settings.max_chunks_per_file,
            pdf_timeout_s=settings.pdf_timeout_s,
            pdf_memory_mb=settings.pdf_memory_mb,
        )

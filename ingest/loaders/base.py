"""What loaders produce: text segments and figures, in reading order.

A segment's text is the document's words as written; its structure travels beside it:
``headings`` marks the lines that are headings (and at which level), so a reader that ignores
the structure still gets the same text, and the chunker can split at the document's own
sections (:mod:`ingest.chunking.outline`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from PIL import Image

from ingest.extractors.nearby import squash
from ingest.file_limits import Limits
from rag.errors import Message
from rag.store.records import PageLayout

# The longest side of an image as stored and captioned: a 2048-px copy is plenty for the
# generator's anyres tiles and for display, and keeps a 24-megapixel photo from becoming a
# 40 MB PNG in the store.
MAX_IMAGE_SIDE = 2048


@dataclass(frozen=True)
class Heading:
    r"""A line of a segment that is a heading.

    Attributes:
        line: Index of the line in ``Segment.text.split("\n")``.
        level: 0 for the document's title, 1 and deeper for sections (HTML ``h1`` is 1).

    """

    line: int
    level: int


@dataclass(frozen=True)
class Segment:
    """A run of text from one place in a document; a table is one row per line."""

    text: str
    page: int | None = None
    kind: Literal["text", "table"] = "text"
    headings: tuple[Heading, ...] = ()


@dataclass(frozen=True)
class Figure:
    """An image and the human-written text that describes it (alt text, caption, sidecar).

    ``fallback`` names a standalone image file; an embedded figure has none and is dropped when
    nothing describes it, since a chunk with no words cannot be found by meaning.
    """

    image: Image.Image
    captions: tuple[str, ...] = ()
    page: int | None = None
    fallback: str | None = None


@dataclass
class Loaded:
    """A loaded document: blocks in reading order and notes on what was skipped.

    ``notes`` are about this file (an image skipped, a page that failed OCR). ``run_notes`` are
    about the machine, the same for every file that meets them (OCR is unavailable): a report
    shows each distinct one once per ingest, not once per file. ``layouts`` say where each
    page's words are printed (PDF), so a passage can be shown highlighted on its page.
    """

    blocks: list[Segment | Figure] = field(default_factory=list)
    notes: list[Message] = field(default_factory=list)
    run_notes: list[str] = field(default_factory=list)
    layouts: list[PageLayout] = field(default_factory=list)


Loader = Callable[[Path, bytes, Limits], Loaded]

__all__ = [
    "MAX_IMAGE_SIDE",
    "Figure",
    "Heading",
    "Loaded",
    "Loader",
    "Segment",
    "bounded",
    "squash",
]


def bounded(image: Image.Image) -> Image.Image:
    """An RGB copy no larger than :data:`MAX_IMAGE_SIDE` on its longest side."""
    image = image.convert("RGB")
    if max(image.size) > MAX_IMAGE_SIDE:
        image.thumbnail((MAX_IMAGE_SIDE, MAX_IMAGE_SIDE), Image.Resampling.LANCZOS)
    return image

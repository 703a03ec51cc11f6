"""A document's paragraphs, tables and pictures in reading order, each picture with its caption.

Word, HWP and HWPX all place pictures in the flow of paragraphs, so their loaders list
:class:`Paragraph`, :class:`Table` and :class:`Picture` items and :func:`assemble` turns them
into blocks: runs of prose, tables, and figures with their captions.

A caption is, in order: the document's own caption for the picture (an HWP caption list), else
a paragraph that reads like one (``그림 1.``, ``표 2:``, ``Figure 3``, or styled "Caption") right
after the picture, else right before it. Such a caption belongs to its picture: it goes on the
image chunk and is left out of the prose, so the same words are not indexed, and cited, twice.
Without one, the nearest paragraph describes the picture but stays in the prose, since it is
the document's own text rather than a label.

Plain Python with no imports beyond the standard library: the isolated HWP readers use it in
their child process.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from rag.errors import Message

# A paragraph that reads like a figure caption, in Korean or English.
CAPTION_START = re.compile(
    r"^\s*(그림|표|사진|도표|차트|figure|fig\.|table|chart|photo|image)\s*[\d.:\-]", re.IGNORECASE
)
# Context text longer than this is cut: a caption is a line, not a page.
CONTEXT_CHARS = 300
# The one note every reader with pictures gives (PDF, HWP, HWPX, DOCX, PPTX, HTML, the pipeline).
TOO_MANY_IMAGES = "skipped images after the first {count} (ingest.max_images_per_file)"
SKIPPED_IMAGE = "skipped an embedded image: {error}"


@dataclass(frozen=True)
class Paragraph:
    """A paragraph's text; ``labelled`` when the document marks it as a caption (a style).

    ``level`` is set on a heading: 0 for the document's title, 1.. for its outline levels.
    """

    text: str
    labelled: bool = False
    level: int | None = None


@dataclass(frozen=True)
class Table:
    """A table as rows of ``cell | cell`` lines."""

    rows: tuple[str, ...]


@dataclass(frozen=True)
class Picture:
    """A picture: its payload (bytes, or whatever the loader decodes), alt text, own caption."""

    payload: Any
    alt: str = ""
    caption: str = ""


Item = Paragraph | Table | Picture


@dataclass(frozen=True)
class Block:
    """Prose, a table (rows joined by newlines), or a figure with its captions, on a page.

    ``headings`` lists the prose lines that are headings, as ``(line index, level)``.
    """

    kind: Literal["text", "table", "figure"]
    text: str = ""
    payload: Any = None
    captions: tuple[str, ...] = ()
    page: int | None = None
    headings: tuple[tuple[int, int], ...] = ()


class PictureGate:
    """Which embedded pictures a reader takes: image formats only, at most ``max_images``.

    Counted before a picture's bytes are even inflated; the notes say what was left out.
    """

    EXTENSIONS = frozenset({"png", "jpg", "jpeg", "gif", "bmp", "tif", "tiff", "webp"})

    def __init__(self, max_images: int) -> None:
        self.max_images = max_images
        self.taken = 0
        self.notes: list[Message] = []

    def admit(self, name: str) -> bool:
        """Whether to take the picture stored as ``name`` (counting it if so)."""
        if name.rsplit(".", 1)[-1].lower() not in self.EXTENSIONS:
            template = "skipped a picture in a format that is not read ({name})"
            self.notes.append(Message.because(template, name=name))
            return False
        return self.room()

    def room(self) -> bool:
        """Whether one more picture may be taken (counting it if so)."""
        if self.taken >= self.max_images:
            self.notes.append(Message.because(TOO_MANY_IMAGES, count=self.max_images))
            return False
        self.taken += 1
        return True

    def data_url(self, url: str) -> bytes | None:
        """The bytes of a ``data:image/...;base64,`` URL, if taken (else a note says why).

        Only a URL that holds the image is ever read: any other is a link, never fetched.
        """
        import base64
        import binascii

        header, _, payload = url.partition(",")
        if not header.endswith(";base64"):
            self.notes.append(Message.because(SKIPPED_IMAGE, error="data URL is not base64"))
            return None
        try:
            data = base64.b64decode("".join(payload.split()), validate=True)
        except (binascii.Error, ValueError):
            error = "image data is not valid base64"
            self.notes.append(Message.because(SKIPPED_IMAGE, error=error))
            return None
        return data if self.room() else None


def is_caption(text: str) -> bool:
    """Whether a paragraph starts like a figure or table caption."""
    return bool(CAPTION_START.match(text))


def squash(text: str) -> str:
    """Collapse white space to single spaces (captions, table cells, alt text)."""
    return " ".join(text.split())


def clip(text: str) -> str:
    """White space collapsed and cut to :data:`CONTEXT_CHARS`."""
    return " ".join(text.split())[:CONTEXT_CHARS]


def assemble(items: Sequence[Item]) -> list[Block]:
    """Blocks in reading order: prose runs, tables, figures after the prose around them."""
    captions, consumed = _captions(items)
    blocks: list[Block] = []
    prose: list[str] = []
    headings: list[tuple[int, int]] = []
    lines = 0  # lines in ``prose`` so far (a paragraph may hold line breaks)

    def flush() -> None:
        nonlocal lines
        if any(line.strip() for line in prose):
            blocks.append(Block("text", "\n".join(prose), headings=tuple(headings)))
        prose.clear()
        headings.clear()
        lines = 0

    for index, item in enumerate(items):
        if isinstance(item, Paragraph):
            if index not in consumed:
                if item.level is not None and item.text.strip():
                    headings.append((lines, item.level))
                prose.append(item.text)
                lines += item.text.count("\n") + 1
        elif isinstance(item, Table):
            flush()
            if item.rows:
                blocks.append(Block("table", "\n".join(item.rows)))
        else:
            flush()
            blocks.append(Block("figure", payload=item.payload, captions=captions[index]))
    flush()
    return blocks


def _captions(items: Sequence[Item]) -> tuple[dict[int, tuple[str, ...]], set[int]]:
    """Each picture's captions, and the paragraphs taken from the prose as captions."""
    captions: dict[int, tuple[str, ...]] = {}
    consumed: set[int] = set()
    for index, item in enumerate(items):
        if not isinstance(item, Picture):
            continue
        caption = clip(item.caption)
        if not caption:
            label = _label_index(items, index)
            if label is not None:
                consumed.add(label)
                caption = clip(_text(items[label]))
            else:
                caption = _nearest(items, index)
        captions[index] = tuple(dict.fromkeys(c for c in (clip(item.alt), caption) if c))
    return captions, consumed


def _label_index(items: Sequence[Item], index: int) -> int | None:
    """The caption-like paragraph next to the picture: after it first, then before it."""
    for near in (_neighbour(items, index, 1), _neighbour(items, index, -1)):
        if near is not None:
            paragraph = items[near]
            if isinstance(paragraph, Paragraph) and (
                paragraph.labelled or is_caption(paragraph.text)
            ):
                return near
    return None


def _nearest(items: Sequence[Item], index: int) -> str:
    """The picture's own paragraph (just before it), else the next text, else the previous."""
    before = items[index - 1] if index > 0 else None
    if isinstance(before, Paragraph) and before.text.strip():
        return clip(before.text)
    for near in (_neighbour(items, index, 1), _neighbour(items, index, -1)):
        if near is not None:
            return clip(_text(items[near]))
    return ""


def _neighbour(items: Sequence[Item], index: int, step: int) -> int | None:
    """The nearest paragraph with text in one direction, past empty ones and other pictures."""
    near = index + step
    while 0 <= near < len(items):
        item = items[near]
        if isinstance(item, Table):
            return None
        if isinstance(item, Paragraph) and item.text.strip():
            return near
        near += step
    return None


def _text(item: Item) -> str:
    return item.text if isinstance(item, Paragraph) else ""


def as_json(blocks: Sequence[Block]) -> list[dict[str, Any]]:
    """Blocks in the child's JSON shape (:mod:`ingest.isolation.child`), figures as bytes."""
    import base64

    return [
        {
            "type": "figure",
            "image": base64.b64encode(block.payload).decode(),
            "captions": list(block.captions),
            "page": block.page,
        }
        if block.kind == "figure"
        else {
            "type": block.kind,
            "text": block.text,
            "page": block.page,
            "headings": [list(heading) for heading in block.headings],
        }
        for block in blocks
    ]

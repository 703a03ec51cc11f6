"""Worker task ``pptx``: per slide its title, text, tables, speaker notes and pictures.

python-pptx parses in the isolated worker (pure Python over lxml, entity resolution off) after
the package's declared unpacked size is checked and the elements of its XML parts (slides,
shapes, paragraphs, notes...) are counted against ``ingest.max_units_per_file``
(:mod:`ingest.extractors.package`): python-pptx reads every part whole when it opens a deck.

The slide number is the page, and a slide is one unit: its text (title first, then its text
frames in shape order, group shapes included, then the speaker notes, where the details a
presenter says often are) is one segment on that page whose first line is marked as its heading
(the title, or the first text of a slide without one, so that no slide sits under the one
before it), each table a table segment on the same page, and each picture an image chunk
captioned by its alt text and the slide's title and text. The chunker never packs two pages
into one chunk, so a passage cites the slide it is on. A linked (external) picture is never
fetched.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

from ingest.extractors.answer import answer, rejecting
from ingest.extractors.nearby import Block, PictureGate, clip, squash
from ingest.extractors.package import count_parts, open_package, unreadable
from ingest.extractors.units import Units
from rag.errors import IngestError


@rejecting
def extract(data: bytes, options: dict[str, Any]) -> dict[str, Any]:
    """A PPTX deck: per slide a text block, table blocks and figures, all on its page."""
    import pptx

    with open_package(data, "PPTX") as archive:
        count_parts(archive, "PPTX", Units(options, "PPTX"))
    pictures = PictureGate(int(options["max_images"]))
    blocks: list[Block] = []
    try:
        deck = pptx.Presentation(io.BytesIO(data))
        for number, slide in enumerate(deck.slides, start=1):
            blocks.extend(_slide(slide, number, pictures))
    except Exception as error:  # python-pptx raises KeyError, ValueError, lxml errors... on junk
        raise unreadable("PPTX", error) from None
    if not blocks:
        raise IngestError.because("no text or pictures in the presentation")
    return answer(blocks, pictures.notes)


def _slide(slide: Any, number: int, pictures: PictureGate) -> list[Block]:
    title_shape = slide.shapes.title
    title = squash(title_shape.text_frame.text) if title_shape is not None else ""
    title_id = title_shape.shape_id if title_shape is not None else None
    texts = [title] if title else []
    tables: list[str] = []
    images: list[tuple[bytes, str]] = []
    for shape in _shapes(slide.shapes):
        if shape.has_text_frame and shape.shape_id != title_id:
            text = "\n".join(squash(p.text) for p in shape.text_frame.paragraphs if p.text.strip())
            if text:
                texts.append(text)
        elif getattr(shape, "has_table", False) and shape.has_table:
            rows = [_row(row) for row in shape.table.rows]
            tables.append("\n".join(row for row in rows if row))
        elif _is_picture(shape) and pictures.admit(f"picture.{shape.image.ext}"):
            images.append((shape.image.blob, _alt_text(shape)))
    if slide.has_notes_slide:
        notes = slide.notes_slide.notes_text_frame
        if notes is not None and notes.text.strip():
            texts.append(notes.text.strip())
    blocks = []
    prose = "\n".join(texts)
    if prose.strip():
        blocks.append(Block("text", prose, page=number, headings=((0, 1),)))
    blocks.extend(Block("table", table, page=number) for table in tables if table)
    context = clip(" ".join(texts[:2]))
    for blob, alt in images:
        captions = tuple(dict.fromkeys(c for c in (alt, context) if c))
        blocks.append(Block("figure", payload=blob, captions=captions, page=number))
    return blocks


def _shapes(shapes: Any) -> Iterator[Any]:
    """Every shape of a slide in order, group shapes opened (iteratively, however deep)."""
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    stack = [iter(shapes)]
    while stack:
        shape = next(stack[-1], None)
        if shape is None:
            stack.pop()
        elif shape.shape_type == MSO_SHAPE_TYPE.GROUP:
            stack.append(iter(shape.shapes))
        else:
            yield shape


def _is_picture(shape: Any) -> bool:
    from pptx.shapes.picture import Picture

    if not isinstance(shape, Picture):
        return False
    try:
        shape.image  # noqa: B018 (a linked picture has no image part: never fetched)
    except (KeyError, ValueError, AttributeError):
        return False
    return True


def _alt_text(shape: Any) -> str:
    properties = shape._element.nvPicPr.cNvPr  # python-pptx has no API for alt text
    return squash(properties.get("descr") or properties.get("title") or "")


def _row(row: Any) -> str:
    cells: list[str] = []
    for cell in row.cells:
        text = squash(cell.text)
        if not cells or cells[-1] != text:  # a merged cell repeats across its span
            cells.append(text)
    return " | ".join(cells) if any(cells) else ""

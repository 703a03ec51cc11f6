"""Word documents: paragraphs, tables as text, embedded pictures with their captions.

python-docx parses in this process (it is pure Python over lxml with entity resolution off), so
the package is checked first: the uncompressed sizes its ZIP directory declares must fit under
:data:`MAX_UNPACKED_BYTES`. Python's ``zipfile`` never inflates an entry past its declared size,
so that sum bounds the memory a crafted "zip bomb" can claim.

A picture's caption comes from its alt text (``wp:docPr`` description/title), the text of its
own paragraph, and the neighbouring paragraph: the one styled "Caption" or starting like a caption
(``그림 1``, ``Figure 2``), else the nearest paragraph of text.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import docx
from docx.document import Document
from docx.oxml.ns import qn
from docx.table import Table
from docx.text.paragraph import Paragraph

from ingest.limits import Limits
from ingest.loaders.base import Figure, Loaded, Segment, squash
from ingest.loaders.image import embedded_figure
from rag.errors import IngestError

MAX_UNPACKED_BYTES = 512 * 1024 * 1024
# A paragraph that reads like a figure caption, in Korean or English.
CAPTION_START = re.compile(
    r"^\s*(그림|표|사진|도표|차트|figure|fig\.|table|chart|photo|image)\s*[\d.:\-]", re.IGNORECASE
)
_CONTEXT_CHARS = 300


def load_docx(path: Path, data: bytes, limits: Limits) -> Loaded:
    """A DOCX document: prose segments, table segments and figures, in reading order."""
    _check_unpacked_size(data)
    try:
        document = docx.Document(io.BytesIO(data))
        return _walk(document, limits)
    except IngestError:
        raise
    except Exception as error:  # python-docx raises KeyError, ValueError, lxml errors... on junk
        msg = f"not a readable DOCX ({type(error).__name__}: {error})"
        raise IngestError(msg) from None


def _check_unpacked_size(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            declared = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        msg = f"not a readable DOCX (broken ZIP: {error})"
        raise IngestError(msg) from None
    if declared > MAX_UNPACKED_BYTES:
        msg = f"DOCX unpacks to {declared:,} bytes, over the {MAX_UNPACKED_BYTES:,}-byte limit"
        raise IngestError(msg)


def _walk(document: Document, limits: Limits) -> Loaded:
    loaded = Loaded()
    items = list(document.iter_inner_content())
    prose: list[str] = []

    def flush() -> None:
        if any(line.strip() for line in prose):
            loaded.blocks.append(Segment("\n".join(prose)))
        prose.clear()

    for index, item in enumerate(items):
        if isinstance(item, Table):
            flush()
            rows = _table_rows(item)
            if rows:
                loaded.blocks.append(Segment("\n".join(rows), kind="table"))
            continue
        prose.append(item.text)
        for blob, alt in _pictures(item, document):
            flush()
            captions = tuple(dict.fromkeys(c for c in (alt, *_around(items, index)) if c))
            figure = embedded_figure(blob, captions, None, limits)
            if isinstance(figure, Figure):
                loaded.blocks.append(figure)
            else:
                loaded.notes.append(figure)
    flush()
    if not loaded.blocks:
        msg = "no text or pictures in the document"
        raise IngestError(msg)
    return loaded


def _table_rows(table: Table) -> list[str]:
    rows = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            text = squash(cell.text)
            if not cells or cells[-1] != text:  # a merged cell repeats across its span
                cells.append(text)
        if any(cells):
            rows.append(" | ".join(cells))
    return rows


def _pictures(paragraph: Paragraph, document: Document) -> list[tuple[bytes, str]]:
    """(image bytes, alt text) for every picture drawn in a paragraph."""
    found = []
    related = document.part.related_parts
    for blip in paragraph._p.iter(qn("a:blip")):  # python-docx has no API for pictures
        part = related.get(blip.get(qn("r:embed")) or "")
        if part is None:
            continue  # a linked (external) picture: never fetched
        alt = ""
        for drawing in blip.iterancestors(qn("wp:inline"), qn("wp:anchor")):
            properties = drawing.find(qn("wp:docPr"))
            if properties is not None:
                alt = squash(properties.get("descr") or properties.get("title") or "")
            break
        found.append((part.blob, alt))
    return found


def _around(items: list[Paragraph | Table], index: int) -> tuple[str, ...]:
    """The picture's own paragraph text and its caption or nearest neighbouring text."""
    own = squash(items[index].text) if isinstance(items[index], Paragraph) else ""
    near = [
        items[i]
        for i in (index + 1, index - 1)
        if 0 <= i < len(items) and isinstance(items[i], Paragraph) and items[i].text.strip()
    ]
    caption = next((squash(p.text) for p in near if _is_caption(p)), "")
    if not caption and not own and near:
        caption = squash(near[0].text)
    return tuple(t[:_CONTEXT_CHARS] for t in (own, caption) if t)


def _is_caption(paragraph: Paragraph) -> bool:
    style = paragraph.style.name if paragraph.style is not None else ""
    return "caption" in (style or "").lower() or bool(CAPTION_START.match(paragraph.text))

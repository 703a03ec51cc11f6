"""Worker task ``docx``: a Word document's paragraphs, tables and pictures with their captions.

python-docx parses in the isolated worker (pure Python over lxml, entity resolution off), after
the package's declared unpacked size is checked and the elements of its XML parts are counted
against ``ingest.max_units_per_file`` (:mod:`ingest.extractors.package`): python-docx holds the
whole body in memory, so eight million empty paragraphs must be refused before it reads them.

Headings are the paragraphs styled "Title" (the document's title) or "Heading N" (Word's
built-in styles, whatever the interface language calls them).

A picture's caption comes from its alt text (``wp:docPr`` description/title) and the
neighbouring paragraph styled "Caption" or starting like a caption (``그림 1``, ``Figure 2``),
which then leaves the prose (:mod:`ingest.extractors.nearby`), else the nearest paragraph of text.
"""

from __future__ import annotations

import io
import re
from typing import Any

import docx
from docx.document import Document
from docx.oxml.ns import qn
from docx.table import Table
from docx.text.paragraph import Paragraph

from ingest.extractors import nearby
from ingest.extractors.answer import answer, rejecting
from ingest.extractors.nearby import PictureGate, squash
from ingest.extractors.package import count_parts, open_package, unreadable
from ingest.extractors.units import Units
from rag.errors import IngestError

_HEADING_STYLE = re.compile(r"heading ([1-9])", re.IGNORECASE)


@rejecting
def extract(data: bytes, options: dict[str, Any]) -> dict[str, Any]:
    """A DOCX document: prose blocks, table blocks and figures, in reading order."""
    with open_package(data, "DOCX") as archive:
        count_parts(archive, "DOCX", Units(options, "DOCX"))
    pictures = PictureGate(int(options["max_images"]))
    try:
        document = docx.Document(io.BytesIO(data))
        blocks = nearby.assemble(_items(document, pictures))
    except IngestError:
        raise
    except Exception as error:  # python-docx raises KeyError, ValueError, lxml errors... on junk
        raise unreadable("DOCX", error) from None
    if not blocks:
        raise IngestError.because("no text or pictures in the document")
    return answer(blocks, pictures.notes)


def _items(document: Document, pictures: PictureGate) -> list[nearby.Item]:
    items: list[nearby.Item] = []
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            items.append(nearby.Table(tuple(_table_rows(item))))
            continue
        level = _heading_level(item)
        items.append(nearby.Paragraph(item.text, labelled=_styled_caption(item), level=level))
        items.extend(
            nearby.Picture(blob, alt)
            for name, blob, alt in _pictures(item, document)
            if pictures.admit(name)
        )
    return items


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


def _pictures(paragraph: Paragraph, document: Document) -> list[tuple[str, bytes, str]]:
    """(part name, image bytes, alt text) for every picture drawn in a paragraph."""
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
        found.append((str(part.partname), part.blob, alt))
    return found


def _styled_caption(paragraph: Paragraph) -> bool:
    style = paragraph.style.name if paragraph.style is not None else ""
    return "caption" in (style or "").lower()


def _heading_level(paragraph: Paragraph) -> int | None:
    style = (paragraph.style.name if paragraph.style is not None else "") or ""
    if style.lower() == "title":
        return 0
    match = _HEADING_STYLE.fullmatch(style)
    return int(match.group(1)) if match else None

"""Worker task ``hwpx``: an HWPX (OWPML) document's paragraphs, tables and pictures.

HWPX is a ZIP package (``mimetype`` = ``application/hwp+zip``): ``Contents/sectionN.xml`` hold
the body, paragraphs ``<hp:p>`` of runs whose text is in ``<hp:t>`` (with ``<hp:tab/>`` and
``<hp:lineBreak/>`` inside), tables ``<hp:tbl>`` of ``<hp:tc>`` cells, pictures ``<hp:pic>``
whose ``<hc:img binaryItemIDRef>`` names a ``BinData/`` entry listed in
``Contents/content.hpf``. Elements are matched by local name, since the namespace URIs carry
the OWPML version. Page headers and footers are skipped (they repeat on every page); footnotes,
endnotes and text boxes are read as paragraphs.

Read with zipfile and lxml rather than a package, for the reasons given in
:mod:`ingest.extractors.hwp`: a small reader whose branches the tests reach. The XML parser
resolves no entities, fetches nothing and keeps libxml2's depth limit, so a crafted section
fails as one error; the package's declared unpacked size is checked before anything is
inflated, and its elements are counted against ``ingest.max_units_per_file`` before a section
is parsed whole (:mod:`ingest.extractors.package`). It runs in the isolated worker
(:mod:`ingest.isolation.child`).
"""

from __future__ import annotations

import re
import zipfile
from typing import Any

from ingest.extractors.answer import answer, rejecting
from ingest.extractors.nearby import Item, Paragraph, Picture, PictureGate, Table, assemble
from ingest.extractors.package import ZIP_ERRORS, count_parts, open_package
from ingest.extractors.units import Units
from ingest.extractors.xml import parse
from rag.errors import IngestError

_SECTION = re.compile(r"^Contents/section(\d+)\.xml$")
_SKIPPED = frozenset({"header", "footer", "secPr", "linesegarray", "shapeComment"})


@rejecting
def extract(data: bytes, options: dict[str, Any]) -> dict[str, Any]:
    """Text, tables and pictures of the HWPX document in ``data``."""
    try:
        with open_package(data, "HWPX") as archive:
            count_parts(archive, "HWPX", Units(options, "HWPX"))
            reader = _Reader(archive, int(options["max_images"]))
            blocks = assemble(reader.items())
    except (*ZIP_ERRORS, ValueError) as error:
        template = "not a readable {label} (broken ZIP: {error})"
        raise IngestError.because(template, label="HWPX", error=str(error)) from None
    if not blocks:
        raise IngestError.because("no text or pictures in the document")
    return answer(blocks, reader.pictures.notes)


def _local(element: Any) -> str:
    tag = element.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


class _Reader:
    def __init__(self, archive: zipfile.ZipFile, max_images: int) -> None:
        self.archive = archive
        self.names = set(archive.namelist())
        self.pictures = PictureGate(max_images)
        self.binaries = self._manifest()
        self.outline = self._outline_levels()

    def _xml(self, name: str) -> Any:
        return parse(self.archive.read(name), name, "HWPX")

    def _manifest(self) -> dict[str, str]:
        """Binary item id -> its ZIP entry, from ``content.hpf`` (else by the entry's name)."""
        found = {
            name.split("/", 1)[1].rsplit(".", 1)[0]: name
            for name in self.names
            if name.startswith("BinData/") and "." in name
        }
        if "Contents/content.hpf" in self.names:
            for item in self._xml("Contents/content.hpf").iter():
                href, ident = item.get("href"), item.get("id")
                if _local(item) == "item" and href in self.names and ident:
                    found[ident] = href
        return found

    def _outline_levels(self) -> dict[str, int]:
        """Paragraph shape id -> heading level (개요 1 is 1), from ``header.xml``."""
        if "Contents/header.xml" not in self.names:
            return {}
        levels = {}
        for shape in self._xml("Contents/header.xml").iter():
            if _local(shape) != "paraPr" or shape.get("id") is None:
                continue
            heading = next((c for c in shape.iter() if _local(c) == "heading"), None)
            if heading is not None and heading.get("type") == "OUTLINE":
                level = heading.get("level", "")
                if level.isdigit():
                    levels[shape.get("id")] = int(level) + 1
        return levels

    def items(self) -> list[Item]:
        """Every section's paragraphs, tables and pictures, in order."""
        sections = sorted(
            (int(match.group(1)), name) for name in self.names if (match := _SECTION.match(name))
        )
        if not sections:
            raise IngestError.because("not an HWPX document (no Contents/sectionN.xml)")
        items: list[Item] = []
        for _, name in sections:
            for paragraph in self._xml(name):
                if _local(paragraph) == "p":
                    self._paragraph(paragraph, items)
        return items

    def _paragraph(self, paragraph: Any, items: list[Item]) -> None:
        """A paragraph's own text, then the objects anchored in it (tables, pictures...)."""
        text: list[str] = []
        objects: list[Any] = []
        for run in paragraph:
            if _local(run) != "run":
                continue
            for child in run:
                name = _local(child)
                if name == "t":
                    text.append(_t(child))
                elif name not in _SKIPPED:
                    objects.append(child)
        level = self.outline.get(paragraph.get("paraPrIDRef", ""))
        items.append(Paragraph("".join(text), level=level))
        for element in objects:
            name = _local(element)
            if name == "tbl":
                items.extend(_table(element))
            elif name == "pic":
                picture = self._picture(element)
                if picture is not None:
                    items.append(picture)
            else:  # footnotes, text boxes, fields: their paragraphs, headers and footers not
                items.extend(Paragraph(t) for t in _paragraph_texts(element) if t.strip())

    def _picture(self, element: Any) -> Picture | None:
        ident = next((e.get("binaryItemIDRef") for e in element.iter() if _local(e) == "img"), None)
        name = self.binaries.get(ident or "")
        if name is None or not self.pictures.admit(name):
            return None
        caption = " ".join(
            text
            for child in element
            if _local(child) == "caption"
            for text in _paragraph_texts(child)
        )
        return Picture(self.archive.read(name), caption=caption)


def _t(element: Any) -> str:
    """The text of one ``<hp:t>``: its characters, tabs and line breaks."""
    parts = [element.text or ""]
    for child in element:
        parts.append({"tab": "\t", "lineBreak": "\n"}.get(_local(child), ""))
        parts.append(child.tail or "")
    return "".join(parts)


def _paragraph_texts(element: Any) -> list[str]:
    """The text of each paragraph inside ``element`` (headers and footers left out)."""
    texts = []
    for paragraph in element.iter():
        if _local(paragraph) != "p" or any(
            _local(a) in ("header", "footer") for a in paragraph.iterancestors()
        ):
            continue
        texts.append(
            "".join(
                _t(t) for run in paragraph if _local(run) == "run" for t in run if _local(t) == "t"
            )
        )
    return texts


def _table(element: Any) -> list[Item]:
    """A table's caption (as a paragraph before it) and its rows of cells."""
    rows: dict[int, list[tuple[int, str]]] = {}
    for position, cell in enumerate(e for e in element.iter() if _local(e) == "tc"):
        if next((a for a in cell.iterancestors() if _local(a) == "tbl"), None) is not element:
            continue  # a cell of a table nested in a cell: its text is in that cell
        address = next((c for c in cell if _local(c) == "cellAddr"), None)
        row = int(address.get("rowAddr", position)) if address is not None else position
        column = int(address.get("colAddr", 0)) if address is not None else 0
        text = " ".join(" ".join(_paragraph_texts(cell)).split())
        rows.setdefault(row, []).append((column, text))
    lines = []
    for _, cells in sorted(rows.items()):
        line = " | ".join(text for _, text in sorted(cells))
        if line.strip(" |"):
            lines.append(line)
    caption = " ".join(
        text for child in element if _local(child) == "caption" for text in _paragraph_texts(child)
    )
    table: list[Item] = [Paragraph(caption)] if caption.strip() else []
    table.append(Table(tuple(lines)))
    return table

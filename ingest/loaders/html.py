"""Web pages: the main text, tables as tables, alt text and figure captions kept.

The page is parsed with lxml's HTML parser (lenient, no network, no entity expansion) and walked
iteratively, so deep nesting cannot exhaust the Python stack. Scripts, styles and navigation
chrome are dropped; when the page marks its content with ``<main>`` or ``<article>`` only that is
read. ``<img alt>`` text stays in the prose where the image was; an image whose pixels are in the
page (a ``data:`` URL) also becomes a figure captioned by its alt text and ``<figcaption>``. An
``src`` pointing anywhere else is never opened: a page must not make the ingester read files or
fetch URLs.
"""

from __future__ import annotations

import re
from pathlib import Path

import lxml.etree as etree
import lxml.html

from ingest.limits import Limits
from ingest.loaders.base import Figure, Loaded, Segment, squash
from ingest.loaders.image import figure_from_data_url
from ingest.loaders.text import decode_text
from rag.errors import IngestError

_DROPPED = (
    "script", "style", "noscript", "template", "svg", "math", "iframe", "object", "embed",
    "canvas", "nav", "aside", "footer", "button", "select",
)  # fmt: skip
_BLOCK = frozenset({
    "p", "div", "section", "article", "main", "header", "li", "ul", "ol", "dl", "dt", "dd", "h1",
    "h2", "h3", "h4", "h5", "h6", "br", "hr", "tr", "blockquote", "pre", "figure", "figcaption",
    "address", "caption", "summary", "details",
})  # fmt: skip
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")


def load_html(path: Path, data: bytes, limits: Limits) -> Loaded:
    """An HTML page: prose segments, table segments and data-URL figures."""
    text = _XML_DECLARATION.sub("", decode_text(data), count=1)
    try:
        document = lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError) as error:
        msg = f"not readable HTML ({error})"
        raise IngestError(msg) from None
    etree.strip_elements(document, *_DROPPED, with_tail=False)
    etree.strip_tags(document, etree.Comment, etree.ProcessingInstruction)
    roots = document.xpath("(//main)[1]") or document.xpath("//article[not(ancestor::article)]")
    if not roots:
        etree.strip_elements(document, "header", with_tail=False)
        body = document.find("body")
        roots = [body if body is not None else document]
    loaded = _Walk(limits).run(roots)
    title = squash(document.findtext(".//title") or "")
    first = loaded.blocks[0] if loaded.blocks else None
    if title and isinstance(first, Segment) and first.kind == "text":
        if not first.text.startswith(title):
            loaded.blocks[0] = Segment(f"{title}\n{first.text}")
    elif title:
        loaded.blocks.insert(0, Segment(title))
    if not any(isinstance(b, Segment) for b in loaded.blocks):
        msg = "no text in the page"
        raise IngestError(msg)
    return loaded


class _Walk:
    """One pass over the content elements, collecting prose until a table or figure breaks it."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.loaded = Loaded()
        self.parts: list[str] = []
        self.figures: list[Figure] = []

    def run(self, roots: list[etree._Element]) -> Loaded:
        for root in roots:
            walker = etree.iterwalk(root, events=("start", "end"))
            for event, element in walker:
                tag = element.tag if isinstance(element.tag, str) else ""
                if event == "start":
                    if tag == "table":
                        self._table(element)
                        walker.skip_subtree()
                        continue
                    if tag == "img":
                        self._image(element)
                    elif tag in _BLOCK:
                        self.parts.append("\n")
                    if element.text:
                        self.parts.append(element.text)
                else:
                    if tag in _BLOCK:
                        self.parts.append("\n")
                    if element.tail and element is not root:
                        self.parts.append(element.tail)
            self._flush()
        return self.loaded

    def _flush(self) -> None:
        lines = (squash(line) for line in "".join(self.parts).split("\n"))
        prose = "\n".join(line for line in lines if line)
        if prose:
            self.loaded.blocks.append(Segment(prose))
        self.loaded.blocks.extend(self.figures)
        self.parts.clear()
        self.figures.clear()

    def _table(self, table: etree._Element) -> None:
        rows = []
        for row in table.iter("tr"):
            cells = [squash(cell.text_content()) for cell in row if cell.tag in ("td", "th")]
            if any(cells):
                rows.append(" | ".join(cells))
        caption = table.find("caption")
        if caption is not None and squash(caption.text_content()):
            rows.insert(0, squash(caption.text_content()))
        if rows:
            self._flush()
            self.loaded.blocks.append(Segment("\n".join(rows), kind="table"))

    def _image(self, image: etree._Element) -> None:
        alt = squash(image.get("alt") or "")
        if alt:
            self.parts.append(f" {alt} ")
        source = (image.get("src") or "").strip()
        if not source.startswith("data:image/"):
            return  # a link to a file or URL: never opened
        captions = tuple(c for c in (alt, _figcaption(image)) if c)
        figure = figure_from_data_url(source, captions, self.limits)
        if isinstance(figure, Figure):
            self.figures.append(figure)
        else:
            self.loaded.notes.append(figure)


def _figcaption(image: etree._Element) -> str:
    for ancestor in image.iterancestors("figure"):
        caption = ancestor.find(".//figcaption")
        if caption is not None:
            return squash(caption.text_content())
    return ""

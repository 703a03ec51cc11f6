"""Web pages: the main text, tables as tables, alt text and figure captions kept.

The page is parsed with lxml's HTML parser (lenient, no network, no entity expansion) and walked
iteratively, so deep nesting cannot exhaust the Python stack. libxml2 stops building the tree
at 256 levels of nesting and silently drops everything after that point; such a page (100,000
nested ``<div>``s) is read again by a flat reader over the standard library's tokenizer, which
keeps every word but not the page structure, and the file gets a note saying so.

Scripts, styles and navigation chrome are dropped; when the page marks its content with
``<main>`` or ``<article>`` only that is read. The page's ``<title>`` (its first line) and its
``h1``-``h6`` are marked as headings. ``<img alt>`` text stays in the prose where the
image was; an image whose pixels are in the page (a ``data:`` URL) also becomes a figure
captioned by its alt text and ``<figcaption>``. An ``src`` pointing anywhere else is never
opened: a page must not make the ingester read files or fetch URLs.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import lxml.etree as etree
import lxml.html

from ingest.file_limits import Limits
from ingest.loaders.base import Figure, Heading, Loaded, Segment, squash
from ingest.loaders.image import ImageBudget, figure_from_data_url
from ingest.loaders.text import decode_text
from rag.errors import IngestError, Message

_DROPPED = (
    "script", "style", "noscript", "template", "svg", "math", "iframe", "object", "embed",
    "canvas", "nav", "aside", "footer", "button", "select",
)  # fmt: skip
_BLOCK = frozenset({
    "p", "div", "section", "article", "main", "header", "li", "ul", "ol", "dl", "dt", "dd", "h1",
    "h2", "h3", "h4", "h5", "h6", "br", "hr", "tr", "blockquote", "pre", "figure", "figcaption",
    "address", "caption", "summary", "details",
})  # fmt: skip
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
# Put before a heading's text while the page is walked (NUL cannot occur in decoded text).
_HEADING_MARK = "\x00"
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_CONTENT_TAG = re.compile(r"<(main|article)[\s>]", re.IGNORECASE)


def load_html(path: Path, data: bytes, limits: Limits) -> Loaded:
    """An HTML page: prose segments, table segments and data-URL figures."""
    text = _XML_DECLARATION.sub("", decode_text(data), count=1)
    parser = lxml.html.HTMLParser()
    try:
        document = lxml.html.document_fromstring(text, parser=parser)
    except (etree.ParserError, ValueError) as error:
        raise IngestError.because("not readable HTML ({error})", error=str(error)) from None
    if any(entry.type_name == "ERR_RESOURCE_LIMIT" for entry in parser.error_log):
        return _flat(text, limits)
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
            shifted = tuple(Heading(h.line + 1, h.level) for h in first.headings)
            loaded.blocks[0] = Segment(f"{title}\n{first.text}", headings=(Heading(0, 0), *shifted))
    elif title:
        loaded.blocks.insert(0, Segment(title, headings=(Heading(0, 0),)))
    if not any(isinstance(b, Segment) for b in loaded.blocks):
        raise IngestError.because("no text in the page")
    return loaded


class _Walk:
    """One pass over the content elements, collecting prose until a table or figure breaks it."""

    def __init__(self, limits: Limits) -> None:
        self.budget = ImageBudget(limits)
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
                        if tag in _HEADINGS:
                            self.parts.append(f"{_HEADING_MARK}{_HEADINGS[tag]}")
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
        lines: list[str] = []
        headings: list[Heading] = []
        for raw in "".join(self.parts).split("\n"):
            line = squash(raw)
            if line.startswith(_HEADING_MARK):
                level, line = int(line[1]), squash(line[2:].replace(_HEADING_MARK, ""))
                if line:
                    headings.append(Heading(len(lines), level))
            if line:
                lines.append(line.replace(_HEADING_MARK, ""))
        if lines:
            self.loaded.blocks.append(Segment("\n".join(lines), headings=tuple(headings)))
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
        figure = figure_from_data_url(source, captions, self.budget)
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


def _flat(text: str, limits: Limits) -> Loaded:
    """Every word of a page too deeply nested for the tree parser, without its structure."""
    scoped = _CONTENT_TAG.search(text) is not None
    reader = _FlatReader(ImageBudget(limits), scoped)
    reader.feed(text)
    reader.close()
    lines = (squash(line) for line in "".join(reader.parts).split("\n"))
    prose = "\n".join(line for line in lines if line)
    if not prose:
        raise IngestError.because("no text in the page")
    loaded = Loaded([Segment(prose), *reader.figures], reader.notes)
    flat = "nested deeper than the HTML parser's limit: read as flat text"
    loaded.notes.insert(0, Message.because(flat))
    return loaded


class _FlatReader(HTMLParser):
    """Text of every element outside the dropped ones; block elements break lines.

    Like the tree walk, a page that marks its content (``<main>``, ``<article>``) is read only
    there (``scoped``); otherwise its ``<header>`` is chrome and dropped too.
    """

    def __init__(self, budget: ImageBudget, scoped: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.budget = budget
        self.scoped = scoped
        self.content = 0  # open <main>/<article> elements
        self.parts: list[str] = []
        self.figures: list[Figure] = []
        self.notes: list[Message] = []
        self.dropped = 0  # open elements whose content is not text (scripts, navigation...)

    def _dropped(self, tag: str) -> bool:
        return tag in _DROPPED or (tag == "header" and not self.scoped)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("main", "article"):
            self.content += 1
        if self._dropped(tag):
            self.dropped += 1
        elif tag in ("td", "th"):
            self.parts.append(" | ")
        elif tag in _BLOCK:
            self.parts.append("\n")
        elif tag == "img" and not self.dropped and (self.content or not self.scoped):
            self._image(dict(attrs))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("main", "article"):
            self.content = max(0, self.content - 1)
        if self._dropped(tag):
            self.dropped = max(0, self.dropped - 1)
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.dropped and (self.content or not self.scoped):
            self.parts.append(data)

    def _image(self, attrs: dict[str, str | None]) -> None:
        alt = squash(attrs.get("alt") or "")
        if alt:
            self.parts.append(f" {alt} ")
        source = (attrs.get("src") or "").strip()
        if source.startswith("data:image/"):
            figure = figure_from_data_url(source, (alt,) if alt else (), self.budget)
            if isinstance(figure, Figure):
                self.figures.append(figure)
            else:
                self.notes.append(figure)

"""Worker task ``html``: a web page's main text, tables as tables, alt text and captions kept.

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

A page cannot hold more elements than it has ``<`` characters; when it has more of those than
``ingest.max_units_per_file``, its elements are counted as the parser builds the tree, and the
page is refused at the limit instead of growing a tree of gigabytes.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import lxml.etree as etree
import lxml.html

from ingest.extractors.answer import answer, rejecting
from ingest.extractors.nearby import Block, PictureGate, squash
from ingest.extractors.text import decode_text
from ingest.extractors.units import Units
from ingest.extractors.xml import Counter, out_of_memory
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
ELEMENTS = "HTML elements"
_FEED_CHARS = 1 << 20


@rejecting
def extract(data: bytes, options: dict[str, Any]) -> dict[str, Any]:
    """An HTML page: prose blocks, table blocks and data-URL figures."""
    text = _XML_DECLARATION.sub("", decode_text(data), count=1)
    pictures = PictureGate(int(options["max_images"]))
    document, parser = _parse(text, Units(options, "HTML"))
    if any(entry.type_name == "ERR_RESOURCE_LIMIT" for entry in parser.error_log):
        return _flat(text, pictures)
    etree.strip_elements(document, *_DROPPED, with_tail=False)
    etree.strip_tags(document, etree.Comment, etree.ProcessingInstruction)
    roots = document.xpath("(//main)[1]") or document.xpath("//article[not(ancestor::article)]")
    if not roots:
        etree.strip_elements(document, "header", with_tail=False)
        body = document.find("body")
        roots = [body if body is not None else document]
    blocks = _Walk(pictures).run(roots)
    title = squash(document.findtext(".//title") or "")
    first = blocks[0] if blocks else None
    if title and first is not None and first.kind == "text":
        if not first.text.startswith(title):
            shifted = tuple((line + 1, level) for line, level in first.headings)
            blocks[0] = Block("text", f"{title}\n{first.text}", headings=((0, 0), *shifted))
    elif title:
        blocks.insert(0, Block("text", title, headings=((0, 0),)))
    if not any(b.kind != "figure" for b in blocks):
        raise IngestError.because("no text in the page")
    return answer(blocks, pictures.notes)


def _parse(text: str, units: Units) -> tuple[Any, Any]:
    """The page's tree and the parser that built it (its error log tells of the depth limit).

    Raises:
        IngestError: Not HTML, or more elements than the units limit.
        MemoryError: The tree did not fit the worker's memory.

    """
    if text.count("<") > units.limit:
        _count_elements(text, units)
    parser = lxml.html.HTMLParser()
    try:
        return lxml.html.document_fromstring(text, parser=parser), parser
    except (etree.ParserError, ValueError) as error:
        if out_of_memory(error):
            raise MemoryError from None
        raise IngestError.because("not readable HTML ({error})", error=str(error)) from None


def _count_elements(text: str, units: Units) -> None:
    """Count the page's elements as a parser streams over it, building nothing."""
    parser = etree.HTMLParser(target=Counter(units, ELEMENTS))
    for start in range(0, len(text), _FEED_CHARS):
        parser.feed(text[start : start + _FEED_CHARS])
    parser.close()


class _Walk:
    """One pass over the content elements, collecting prose until a table or figure breaks it."""

    def __init__(self, pictures: PictureGate) -> None:
        self.pictures = pictures
        self.blocks: list[Block] = []
        self.parts: list[str] = []
        self.figures: list[Block] = []

    def run(self, roots: list[etree._Element]) -> list[Block]:
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
        return self.blocks

    def _flush(self) -> None:
        lines: list[str] = []
        headings: list[tuple[int, int]] = []
        for raw in "".join(self.parts).split("\n"):
            line = squash(raw)
            if line.startswith(_HEADING_MARK):
                level, line = int(line[1]), squash(line[2:].replace(_HEADING_MARK, ""))
                if line:
                    headings.append((len(lines), level))
            if line:
                lines.append(line.replace(_HEADING_MARK, ""))
        if lines:
            self.blocks.append(Block("text", "\n".join(lines), headings=tuple(headings)))
        self.blocks.extend(self.figures)
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
            self.blocks.append(Block("table", "\n".join(rows)))

    def _image(self, image: etree._Element) -> None:
        alt = squash(image.get("alt") or "")
        if alt:
            self.parts.append(f" {alt} ")
        source = (image.get("src") or "").strip()
        if not source.startswith("data:image/"):
            return  # a link to a file or URL: never opened
        data = self.pictures.data_url(source)
        if data is not None:
            captions = tuple(c for c in (alt, _figcaption(image)) if c)
            self.figures.append(Block("figure", payload=data, captions=captions))


def _figcaption(image: etree._Element) -> str:
    for ancestor in image.iterancestors("figure"):
        caption = ancestor.find(".//figcaption")
        if caption is not None:
            return squash(caption.text_content())
    return ""


def _flat(text: str, pictures: PictureGate) -> dict[str, Any]:
    """Every word of a page too deeply nested for the tree parser, without its structure."""
    scoped = _CONTENT_TAG.search(text) is not None
    reader = _FlatReader(pictures, scoped)
    reader.feed(text)
    reader.close()
    lines = (squash(line) for line in "".join(reader.parts).split("\n"))
    prose = "\n".join(line for line in lines if line)
    if not prose:
        raise IngestError.because("no text in the page")
    flat = Message.because("nested deeper than the HTML parser's limit: read as flat text")
    return answer([Block("text", prose), *reader.figures], [flat, *pictures.notes])


class _FlatReader(HTMLParser):
    """Text of every element outside the dropped ones; block elements break lines.

    Like the tree walk, a page that marks its content (``<main>``, ``<article>``) is read only
    there (``scoped``); otherwise its ``<header>`` is chrome and dropped too.
    """

    def __init__(self, pictures: PictureGate, scoped: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.pictures = pictures
        self.scoped = scoped
        self.content = 0  # open <main>/<article> elements
        self.parts: list[str] = []
        self.figures: list[Block] = []
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
            data = self.pictures.data_url(source)
            if data is not None:
                self.figures.append(Block("figure", payload=data, captions=(alt,) if alt else ()))

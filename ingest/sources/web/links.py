"""The links of a page, and what its ``<meta name="robots">`` asks, read without running it.

The page is read by the standard library's tolerant HTML tokenizer (no DOM is built, nothing is
fetched or run), over its first :data:`MAX_READ_CHARS` characters, and at most
:data:`MAX_LINKS` links are kept: a page cannot make the crawler spend without bound.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

MAX_READ_CHARS = 2_000_000
MAX_LINKS = 2_000
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([\w-]+)""", re.IGNORECASE)


@dataclass
class PageLinks:
    """What a page links to and asks of crawlers."""

    links: list[str] = field(default_factory=list)  # as written, in order, unique
    base: str | None = None  # <base href>
    follow: bool = True  # no robots "nofollow"
    index: bool = True  # no robots "noindex"


class _LinkReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found = PageLinks()
        self._seen: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name.lower(): value or "" for name, value in attrs}
        if tag in ("a", "area") and values.get("href"):
            href = values["href"]
            if href not in self._seen and len(self.found.links) < MAX_LINKS:
                self._seen.add(href)
                self.found.links.append(href)
        elif tag == "base" and values.get("href") and self.found.base is None:
            self.found.base = values["href"]
        elif tag == "meta" and values.get("name", "").lower() in ("robots", "bllossom-rag"):
            asked = {word.strip().lower() for word in values.get("content", "").split(",")}
            self.found.follow &= not asked & {"nofollow", "none"}
            self.found.index &= not asked & {"noindex", "none"}


def page_links(body: bytes, charset: str | None = None) -> PageLinks:
    """The links of an HTML page (its declared or ``<meta>`` charset, else UTF-8)."""
    reader = _LinkReader()
    reader.feed(decode(body, charset)[:MAX_READ_CHARS])
    reader.close()
    return reader.found


def decode(body: bytes, charset: str | None) -> str:
    """An HTML page's text: the charset it declares (header, then ``<meta>``), else UTF-8."""
    declared = charset
    if declared is None:
        found = _META_CHARSET.search(body[:4096])
        declared = found.group(1).decode("ascii").lower() if found else None
    try:
        return body.decode(declared or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        return body.decode("utf-8", errors="replace")

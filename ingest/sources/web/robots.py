"""A site's own directions: ``robots.txt`` (what may be fetched), ``sitemap.xml`` (what is there).

robots.txt is read for the source's user agent with the standard library's parser; a missing
one allows everything, one refused with 401 or 403 allows nothing (as the parser's own reader
decides). Sitemaps (the ones robots.txt names on the same host, else ``sitemap.xml`` beside the
start URL and at the host's root) are parsed by defusedxml, which refuses entity expansion, and
followed through sitemap indexes up to :data:`MAX_SITEMAPS` files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.robotparser import RobotFileParser

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

MAX_SITEMAPS = 20
MAX_DIRECTIONS_BYTES = 5 * 1024 * 1024
_SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


@dataclass
class Robots:
    """What robots.txt allows, and the sitemaps it names."""

    parser: RobotFileParser | None = None  # None: everything is allowed
    everything_refused: bool = False
    sitemaps: list[str] = field(default_factory=list)

    @classmethod
    def read(cls, text: str) -> Robots:
        """robots.txt's rules and sitemaps."""
        parser = RobotFileParser()
        lines = text.splitlines()
        parser.parse(lines)
        return cls(parser, sitemaps=list(parser.site_maps() or []))

    def allows(self, user_agent: str, url: str) -> bool:
        """Whether ``user_agent`` may fetch ``url``."""
        if self.everything_refused:
            return False
        return self.parser is None or self.parser.can_fetch(user_agent, url)


@dataclass
class Sitemap:
    """One sitemap file: the page URLs it lists, and the sitemaps a sitemap index lists."""

    pages: list[str] = field(default_factory=list)
    sitemaps: list[str] = field(default_factory=list)

    @classmethod
    def read(cls, body: bytes) -> Sitemap:
        """The URLs of a sitemap or sitemap index; an unreadable one lists nothing."""
        try:
            root = ElementTree.fromstring(body)
        except (ElementTree.ParseError, DefusedXmlException, ValueError):
            return cls()
        found = cls()
        for entry in root:
            location = entry.find(f"{_SITEMAP_NS}loc")
            if location is None or not (location.text or "").strip():
                continue
            url = (location.text or "").strip()
            if entry.tag == f"{_SITEMAP_NS}sitemap":
                found.sitemaps.append(url)
            elif entry.tag == f"{_SITEMAP_NS}url":
                found.pages.append(url)
        return found

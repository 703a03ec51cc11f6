"""A crawl of a site source: from the start URL and the sitemaps, breadth first, within limits.

Every URL is fetched at most once per sync, a few at a time. A page kept from the last sync is
asked for conditionally and, when the server says it is unchanged (304), its copy is reused
(its links read from the copy); a body identical to the last one (by hash) is not written
again, so the pipeline finds it unchanged and embeds nothing. A page the server says is gone
(404, 410), or one a *complete* crawl no longer reaches, has its copy deleted, which removes its
document. A crawl that stops at a limit (``max_pages``, ``max_seconds``, ``max_bytes``) is
incomplete: the pages it did not reach keep their copies and documents, and a note says so.

What a page links to outside the scope, deeper than ``max_depth``, refused by robots.txt, or
of a type no loader reads is not fetched, and counted in one note each; a page that fails
(refused address, redirect out of scope or in a loop, too large, too slow, an HTTP error) is
one failed line, its old copy kept, and the crawl goes on.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import Counter, deque
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from ingest.report import FileFailure
from ingest.sources.base import Globs
from ingest.sources.web.copies import HTML_SUFFIXES, Copies, copy_suffix
from ingest.sources.web.fetch import BudgetSpent, Fetched, Fetcher, FetchError
from ingest.sources.web.links import page_links
from ingest.sources.web.robots import MAX_DIRECTIONS_BYTES, MAX_SITEMAPS, Robots, Sitemap
from ingest.sources.web.scope import Scope, canonical, resolve
from rag.config.sync_sections import SourceSettings
from rag.errors import Message
from rag.store.sync_state import SyncItem

# Requests in flight at once.
CONCURRENCY = 4
_REFUSED = frozenset({401, 403})


@dataclass
class Crawl:
    """What a crawl found.

    Attributes:
        kept: URL -> the state of every page whose copy is kept (reached or not).
        gone: URL -> the copy deleted, for the pages that are gone.
        failed: Pages that failed, each with one reason.
        notes: One-line remarks (limits reached, links not followed).
        complete: Whether everything reachable was reached.

    """

    kept: dict[str, SyncItem] = field(default_factory=dict)
    gone: dict[str, str] = field(default_factory=dict)
    failed: list[FileFailure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    complete: bool = True


@dataclass(frozen=True)
class _Visit:
    url: str
    depth: int
    fetched: Fetched | None = None
    error: str | None = None


class Crawler:
    """One crawl of one site.

    Args:
        settings: The source (limits, globs).
        fetcher: Makes the requests.
        copies: The source's folder of copies.
        known: The state kept from the last sync, by URL.
        user_agent: The name robots.txt is read for.

    """

    def __init__(
        self,
        settings: SourceSettings,
        fetcher: Fetcher,
        copies: Copies,
        known: dict[str, SyncItem],
        user_agent: str,
    ) -> None:
        self.settings = settings
        self.fetcher = fetcher
        self.scope: Scope = fetcher.scope
        self.copies = copies
        self.known = known
        self.user_agent = user_agent
        self.globs = Globs(settings.include, settings.exclude)
        self.result = Crawl()
        self.skipped: Counter[str] = Counter()
        self._queue: deque[tuple[str, int]] = deque()
        self._queued: set[str] = set()
        self._requests = 0

    async def run(self) -> Crawl:
        """Crawl the site; deletes the copies of pages that are gone."""
        robots = await self._robots()
        self._enqueue(self.scope.start, 0, robots)
        for page in await self._sitemap_pages(robots):
            self._enqueue(page, 1, robots)
        await self._crawl(robots)
        self._finish()
        return self.result

    # --- the site's directions ---------------------------------------------------------------

    async def _robots(self) -> Robots:
        try:
            answer = await self.fetcher.get(
                self.scope.at("/robots.txt"), max_bytes=MAX_DIRECTIONS_BYTES, anywhere_on_host=True
            )
        except FetchError as error:
            if error.status in _REFUSED:
                self.result.notes.append("robots.txt is refused to us: nothing may be fetched")
                return Robots(everything_refused=True)
            return Robots()
        if answer.outcome != "body":
            return Robots()
        return Robots.read(answer.body.decode("utf-8", errors="replace"))

    async def _sitemap_pages(self, robots: Robots) -> list[str]:
        """The pages the site's sitemaps list (sitemap indexes followed)."""
        named = [
            url for url in map(canonical, robots.sitemaps) if url and self.scope.same_host(url)
        ]
        todo = deque(
            named
            or [self.scope.at(f"{self.scope.prefix}sitemap.xml"), self.scope.at("/sitemap.xml")]
        )
        read: set[str] = set()
        pages: list[str] = []
        while todo and len(read) < MAX_SITEMAPS:
            url = todo.popleft()
            if url in read:
                continue
            read.add(url)
            try:
                answer = await self.fetcher.get(
                    url, max_bytes=MAX_DIRECTIONS_BYTES, anywhere_on_host=True
                )
            except FetchError:
                continue
            if answer.outcome != "body":
                continue
            sitemap = Sitemap.read(answer.body)
            pages += sitemap.pages
            found = (canonical(u) for u in sitemap.sitemaps)
            todo.extend(u for u in found if u and self.scope.same_host(u))
        return pages

    # --- the crawl ---------------------------------------------------------------------------

    def _enqueue(self, link: str | None, depth: int, robots: Robots) -> None:
        url = canonical(link) if link else None
        if url is None or url in self._queued:
            return
        self._queued.add(url)
        if not self.scope.contains(url):
            self.skipped["outside"] += 1
        elif depth > self.settings.max_depth:
            self.skipped["deeper"] += 1
        elif not self.globs.take(self.scope.url_path(url)):
            self.skipped["excluded"] += 1
        elif not robots.allows(self.user_agent, url):
            self.skipped["robots"] += 1
        else:
            self._queue.append((url, depth))

    async def _crawl(self, robots: Robots) -> None:
        settings = self.settings
        deadline = time.monotonic() + settings.max_seconds
        while self._queue:
            if self._requests >= settings.max_pages:
                self._stop(f"stopped after {self._requests:,} requests (max_pages)")
                return
            if time.monotonic() > deadline:
                self._stop(f"stopped after {settings.max_seconds:g} s (max_seconds)")
                return
            room = min(CONCURRENCY, settings.max_pages - self._requests)
            wave = [self._queue.popleft() for _ in range(min(room, len(self._queue)))]
            self._requests += len(wave)
            visits = await asyncio.gather(*(self._visit(url, depth) for url, depth in wave))
            for visit in visits:
                if visit.error is None and visit.fetched is None:  # the byte budget is spent
                    self._stop(
                        f"stopped when {settings.max_bytes:,} bytes were downloaded (max_bytes)"
                    )
                    return
                for link in self._take(visit):
                    self._enqueue(link, visit.depth + 1, robots)

    async def _visit(self, url: str, depth: int) -> _Visit:
        item = self.known.get(url)
        usable = item is not None and self.copies.path(item.path).is_file()
        try:
            fetched = await self.fetcher.get(
                url,
                etag=item.etag if item and usable else None,
                last_modified=item.last_modified if item and usable else None,
            )
        except BudgetSpent:
            return _Visit(url, depth)
        except FetchError as error:
            return _Visit(url, depth, error=str(error))
        return _Visit(url, depth, fetched)

    def _take(self, visit: _Visit) -> list[str]:
        """File a visit's outcome; the links to follow from it."""
        url, fetched, item = visit.url, visit.fetched, self.known.get(visit.url)
        if fetched is None:
            self.result.failed.append(FileFailure(url, Message(visit.error or "")))
            if item is not None:
                self.result.kept[url] = item  # a failure may pass: the copy stays
            return []
        if fetched.outcome == "gone":
            self._delete(url)
            return []
        if fetched.outcome == "unchanged":
            if item is None:
                reason = Message("HTTP 304 to a request that asked for the page")
                self.result.failed.append(FileFailure(url, reason))
                return []
            self.result.kept[url] = replace(
                item,
                etag=fetched.etag or item.etag,
                last_modified=fetched.last_modified or item.last_modified,
                checked_at=time.time(),
            )
            body = self.copies.read(item.path) if item.path.endswith(HTML_SUFFIXES) else None
            return self._links(url, body, None, keep_url=url)
        return self._keep(url, fetched)

    def _keep(self, asked: str, fetched: Fetched) -> list[str]:
        """A page's new body: kept as its copy (unless identical), its links returned."""
        url = fetched.url  # where a redirect inside the scope led
        self._queued.add(url)
        if url in self.result.kept:
            return []  # reached before under another URL
        suffix = copy_suffix(url, fetched.content_type)
        if suffix is None:
            self.skipped["types"] += 1
            return []
        item = self.known.get(url) or self.known.get(asked)
        name = (
            item.path if item and item.path.endswith(suffix) else self.copies.name_for(url, suffix)
        )
        if item is not None and item.path != name:
            self.copies.delete(item.path)
        digest = hashlib.sha256(fetched.body).hexdigest()
        unchanged = item is not None and item.content_sha256 == digest
        if not (unchanged and self.copies.path(name).is_file()):
            try:
                self.copies.write(name, fetched.body)
            except OSError as error:
                reason = f"cannot keep a copy: {error.strerror or error}"
                self.result.failed.append(FileFailure(url, Message(reason)))
                return []
        self.result.kept[url] = SyncItem(
            url, name, fetched.etag, fetched.last_modified, digest, time.time()
        )
        if suffix not in HTML_SUFFIXES:
            return []
        return self._links(url, fetched.body, fetched.charset, keep_url=url)

    def _links(self, url: str, body: bytes | None, charset: str | None, keep_url: str) -> list[str]:
        """The links of an HTML page to follow; a page asking not to be indexed is dropped."""
        if body is None:
            return []
        found = page_links(body, charset)
        if not found.index:
            self._delete(keep_url)
        if not found.follow:
            return []
        base = resolve(url, found.base) if found.base else url
        return [link for link in (resolve(base or url, href) for href in found.links) if link]

    def _delete(self, url: str) -> None:
        """The page is gone: delete its copy and forget it."""
        kept = self.result.kept.pop(url, None) or self.known.get(url)
        if kept is not None:
            self.copies.delete(kept.path)
            self.result.gone[url] = kept.path

    def _stop(self, why: str) -> None:
        self.result.complete = False
        self.result.notes.append(f"{why}; pages not reached this time were kept as they were")

    def _finish(self) -> None:
        """After a complete crawl, the pages no longer reached are gone; notes for the rest."""
        result = self.result
        if result.complete:
            for url in set(self.known) - set(result.kept) - set(result.gone):
                self._delete(url)
            kept = {item.path for item in result.kept.values()}
            for stray in self.copies.strays(kept):
                self.copies.delete(stray)
        else:
            for url, item in self.known.items():  # not reached: kept as it was
                if url not in result.kept and url not in result.gone:
                    result.kept[url] = item
        host = urlsplit(self.scope.start).netloc
        wording = {
            "outside": f"links outside {host}{self.scope.prefix} not followed",
            "deeper": f"links deeper than max_depth ({self.settings.max_depth}) not followed",
            "excluded": "links left out by the source's include and exclude globs",
            "robots": "pages refused by robots.txt",
            "types": "pages of types no loader reads skipped",
        }
        for reason, text in wording.items():
            if self.skipped[reason]:
                result.notes.append(f"{self.skipped[reason]:,} {text}")

"""A site source (``type = "web"``): an intranet site crawled into local copies, then ingested.

From the start URL, staying on its host and under its folder (:mod:`.scope`), reading
robots.txt and the sitemaps (:mod:`.robots`), each response held to the source's limits
(:mod:`.fetch`), breadth first within ``max_pages``, ``max_depth``, ``max_bytes`` and
``max_seconds`` (:mod:`.crawl`). Pages and the documents they link to are kept as files named
after their URLs in ``data_dir/sources/<name>`` (:mod:`.copies`), which the pipeline ingests
like any folder: HTML through the HTML loader, PDFs, Word, HWP and the rest through their own,
with the same content checks and file limits. Each page's validators and body hash are kept in
the store's sync state, so the next sync asks "changed since?" and re-embeds only what did.
"""

from __future__ import annotations

import asyncio

from ingest.discovery import find_files
from ingest.sources.base import Snapshot, Source, SourceError
from ingest.sources.web.copies import Copies
from ingest.sources.web.crawl import Crawl, Crawler
from ingest.sources.web.fetch import Budget, Fetcher
from ingest.sources.web.scope import Scope
from rag.store.sync_state import SyncItem


class WebSource(Source):
    """An intranet site from a start URL (``url``), with its limits and ``allow_private``."""

    _crawl: Crawl | None = None
    _known: dict[str, SyncItem] | None = None

    def snapshot(self) -> Snapshot:
        """Crawl the site into the source's folder; its copies, named by URL.

        Raises:
            SourceError: The start URL is not one the crawler can use.

        """
        settings = self.settings
        try:
            scope = Scope.of(str(settings.url))
        except ValueError as error:
            raise SourceError(f"source {settings.name!r}: {error}") from None
        folder = self.context.folder
        folder.mkdir(parents=True, exist_ok=True)
        root = folder.resolve()
        known = self.context.store.sync_items(settings.name)
        copies = Copies(root, {url: item.path for url, item in known.items()})
        crawl = asyncio.run(self._crawl_site(scope, copies, known))
        self._crawl, self._known = crawl, known
        copies_of = {**crawl.gone, **{url: item.path for url, item in crawl.kept.items()}}
        names = {str(root / path): url for url, path in copies_of.items()}
        found = find_files([root], allow_missing=True)
        return Snapshot(root, found, failed=crawl.failed, notes=crawl.notes, names=names)

    def synced(self, snapshot: Snapshot) -> None:
        """Keep each page's validators for the next sync; forget the pages that are gone."""
        assert self._crawl is not None and self._known is not None
        kept = self._crawl.kept
        forgotten = [url for url in self._known if url not in kept]
        self.context.store.save_sync_items(self.settings.name, list(kept.values()), forgotten)

    async def _crawl_site(self, scope: Scope, copies: Copies, known: dict[str, SyncItem]) -> Crawl:
        settings = self.settings
        fetcher = Fetcher(
            scope,
            allow_private=settings.allow_private,
            user_agent=self.context.user_agent,
            timeout_s=settings.page_timeout_s,
            max_bytes=settings.max_page_bytes or self.context.max_file_bytes,
            budget=Budget(settings.max_bytes),
        )
        try:
            crawler = Crawler(settings, fetcher, copies, known, self.context.user_agent)
            return await crawler.run()
        finally:
            await fetcher.close()


__all__ = ["WebSource"]

"""One HTTP request of a site source, held to its limits: one line for whatever goes wrong.

A response is refused, and the sync goes on, when it:

- comes from a private, loopback or link-local address and the source does not say
  ``allow_private = true`` (checked for every address the name resolves to before connecting,
  and for the address actually connected to, so a name that resolves differently the second
  time gains nothing);
- redirects outside the source's scope, back to a URL it came from, or more than
  :data:`MAX_REDIRECTS` times;
- announces or sends more than ``max_page_bytes`` (counted as the body is decoded, so a small
  compressed body that inflates is stopped too);
- takes more than ``page_timeout_s`` from the request to its last byte (a server dripping a
  byte a second is cut off, not waited for).

Requests are conditional when the source kept validators from the last sync (``If-None-Match``,
``If-Modified-Since``): a 304 costs no body at all. The environment's proxy settings are not
used, so the addresses checked are the addresses connected to.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

import httpx

from ingest.sources.web.scope import Scope, canonical

MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_GONE = frozenset({404, 410})


class FetchError(Exception):
    """A request that failed; the message is one line about the URL (not naming it).

    Attributes:
        status: The HTTP status that refused it, if one did.

    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class BudgetSpent(FetchError):
    """The sync has downloaded all it may (``max_bytes``): it stops."""


@dataclass(frozen=True)
class Fetched:
    """The outcome of a request.

    Attributes:
        url: The URL finally answered (after redirects inside the scope).
        outcome: ``body`` (200 with its bytes), ``unchanged`` (304) or ``gone`` (404, 410).
        body: The bytes, for ``body``.
        content_type: The media type, lower-case, without parameters.
        charset: The declared charset, if any.
        etag: The ``ETag`` sent.
        last_modified: The ``Last-Modified`` sent.

    """

    url: str
    outcome: Literal["body", "unchanged", "gone"]
    body: bytes = b""
    content_type: str = ""
    charset: str | None = None
    etag: str | None = None
    last_modified: str | None = None


@dataclass
class Budget:
    """The bytes one sync may still download (``max_bytes``)."""

    left: int

    def spend(self, count: int) -> None:
        """Count ``count`` bytes downloaded.

        Raises:
            BudgetSpent: The budget is spent.

        """
        self.left -= count
        if self.left < 0:
            msg = "the sync's download budget (max_bytes) was spent on this response"
            raise BudgetSpent(msg)


class Fetcher:
    """Requests for one source, on one connection pool.

    Args:
        scope: Where redirects may lead.
        allow_private: Whether private and loopback addresses may be fetched.
        user_agent: The ``User-Agent`` sent.
        timeout_s: Seconds for one response, from the request to its last byte.
        max_bytes: The largest body.
        budget: The bytes the whole sync may download.

    """

    def __init__(
        self,
        scope: Scope,
        *,
        allow_private: bool,
        user_agent: str,
        timeout_s: float,
        max_bytes: int,
        budget: Budget,
    ) -> None:
        self.scope = scope
        self.allow_private = allow_private
        self.timeout_s = timeout_s
        self.max_bytes = max_bytes
        self.budget = budget
        self.client = httpx.AsyncClient(
            headers={"User-Agent": user_agent},
            timeout=httpx.Timeout(timeout_s),
            follow_redirects=False,
            trust_env=False,
        )

    async def close(self) -> None:
        """Close the connections."""
        await self.client.aclose()

    async def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        max_bytes: int | None = None,
        anywhere_on_host: bool = False,
    ) -> Fetched:
        """GET ``url`` (conditionally when validators are given), following redirects in scope.

        Args:
            url: A canonical URL.
            etag: Sent as ``If-None-Match``.
            last_modified: Sent as ``If-Modified-Since``.
            max_bytes: A smaller limit for this body (robots.txt, sitemaps).
            anywhere_on_host: Redirects may leave the path prefix, not the host (robots.txt).

        Raises:
            FetchError: One line: what went wrong.

        """
        try:
            return await asyncio.wait_for(
                self._follow(
                    url, etag, last_modified, max_bytes or self.max_bytes, anywhere_on_host
                ),
                self.timeout_s,
            )
        except asyncio.TimeoutError:  # an alias of TimeoutError only from Python 3.11
            msg = f"no complete answer within {self.timeout_s:g} s (page_timeout_s)"
            raise FetchError(msg) from None
        except httpx.HTTPError as error:
            raise FetchError(_transport_reason(error)) from None

    async def _follow(
        self,
        url: str,
        etag: str | None,
        last_modified: str | None,
        max_bytes: int,
        anywhere_on_host: bool,
    ) -> Fetched:
        visited = [url]
        for _ in range(MAX_REDIRECTS + 1):
            headers = {}
            if etag:
                headers["If-None-Match"] = etag
            if last_modified:
                headers["If-Modified-Since"] = last_modified
            await self._check_name(url)
            async with self.client.stream("GET", url, headers=headers) as response:
                self._check_peer(response)
                status = response.status_code
                if status in _REDIRECTS:
                    url = self._redirect(response, url, visited, anywhere_on_host)
                    continue
                return await self._answer(response, url, max_bytes)
        msg = f"more than {MAX_REDIRECTS} redirects"
        raise FetchError(msg)

    def _redirect(
        self, response: httpx.Response, url: str, visited: list[str], anywhere_on_host: bool
    ) -> str:
        location = response.headers.get("location", "")
        target = canonical(str(httpx.URL(url).join(location))) if location else None
        if target is None:
            msg = f"HTTP {response.status_code} redirect without a usable Location"
            raise FetchError(msg)
        allowed = self.scope.same_host if anywhere_on_host else self.scope.contains
        if not allowed(target):
            msg = f"redirects to {target}, outside the source's scope (not followed)"
            raise FetchError(msg)
        if target in visited:
            msg = f"redirect loop ({' -> '.join([*visited, target][-3:])})"
            raise FetchError(msg)
        visited.append(target)
        return target

    async def _answer(self, response: httpx.Response, url: str, max_bytes: int) -> Fetched:
        status = response.status_code
        etag = response.headers.get("etag")
        modified = response.headers.get("last-modified")
        if status == 304:
            return Fetched(url, "unchanged", etag=etag, last_modified=modified)
        if status in _GONE:
            return Fetched(url, "gone")
        if status != 200:
            msg = f"HTTP {status} {response.reason_phrase}".strip()
            raise FetchError(msg, status)
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise FetchError(_too_large(int(declared), max_bytes))
        body = bytearray()
        async for piece in response.aiter_bytes():
            body += piece
            self.budget.spend(len(piece))
            if len(body) > max_bytes:
                raise FetchError(_too_large(len(body), max_bytes, sent=True))
        media, _, parameters = response.headers.get("content-type", "").partition(";")
        charset = None
        for parameter in parameters.split(";"):
            key, _, value = parameter.strip().partition("=")
            if key.lower() == "charset" and value:
                charset = value.strip("\"' ").lower()
        return Fetched(url, "body", bytes(body), media.strip().lower(), charset, etag, modified)

    async def _check_name(self, url: str) -> None:
        """Refuse a host whose addresses include a private one (unless allowed)."""
        if self.allow_private:
            return
        host = urlsplit(url).hostname or ""
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except OSError:
            msg = f"cannot resolve the host {host}"
            raise FetchError(msg) from None
        for info in infos:
            _check_address(str(info[4][0]))

    def _check_peer(self, response: httpx.Response) -> None:
        """Refuse an answer from a private address (unless allowed): the one connected to."""
        if self.allow_private:
            return
        stream = response.extensions.get("network_stream")
        peer = stream.get_extra_info("server_addr") if stream is not None else None
        if peer:
            _check_address(str(peer[0]))


def _check_address(address: str) -> None:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if not ip.is_global:
        msg = (
            f"the address {ip} is private or local; set allow_private = true for an intranet source"
        )
        raise FetchError(msg)


def _too_large(size: int, limit: int, *, sent: bool = False) -> str:
    if sent:
        return f"the response passed the {limit:,}-byte limit (max_page_bytes); not read further"
    return f"the response is {size:,} bytes, over the {limit:,}-byte limit (max_page_bytes)"


def _transport_reason(error: httpx.HTTPError) -> str:
    """A transport failure in one line (connection refused, reset, bad HTTP)."""
    reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
    kind = type(error).__name__
    return f"{kind}: {reason}" if reason else kind

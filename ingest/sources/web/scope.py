"""Which URLs a site source may fetch: the start URL's host, under the start URL's folder.

``http://intranet.example/wiki/`` covers ``http://intranet.example/wiki/...`` and nothing else:
not another host, port or scheme, not ``/wikipedia``, not ``/admin``. URLs are compared in one
canonical form (scheme and host lower-case, default port dropped, no fragment, path
percent-encoded the same way), so one page is one URL however a link spells it.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, unquote, urljoin, urlsplit, urlunsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}
# Characters left as they are in a canonical path and query (RFC 3986's reserved and unreserved).
_PATH_SAFE = "/:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"


def canonical(url: str) -> str | None:
    """``url`` in its canonical form, or None when it is not an http(s) URL with a host."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    path = quote(unquote(parts.path or "/"), safe=_PATH_SAFE)
    query = quote(unquote(parts.query), safe=_QUERY_SAFE)
    return urlunsplit((scheme, host, path, query, ""))


def resolve(base: str, link: str) -> str | None:
    """A link of a page at ``base``, absolute and canonical (None when it is no web address)."""
    link = link.strip()
    if not link or link.startswith(("#", "javascript:", "mailto:", "data:", "tel:")):
        return None
    return canonical(urljoin(base, link))


@dataclass(frozen=True)
class Scope:
    """The host (scheme, name, port) and the path prefix a source stays inside."""

    origin: str  # scheme://host[:port]
    prefix: str  # the start URL's folder, ending in '/'
    start: str

    @classmethod
    def of(cls, url: str) -> Scope:
        """The scope of a start URL (its folder: ``/wiki/`` for ``/wiki/index.html``).

        Raises:
            ValueError: ``url`` is not an http(s) URL with a host.

        """
        start = canonical(url)
        if start is None:
            msg = f"not an http(s) URL: {url!r}"
            raise ValueError(msg)
        parts = urlsplit(start)
        prefix = parts.path[: parts.path.rfind("/") + 1] or "/"
        return cls(f"{parts.scheme}://{parts.netloc}", prefix, start)

    def contains(self, url: str) -> bool:
        """Whether a canonical URL is inside the scope."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        return origin == self.origin and parts.path.startswith(self.prefix)

    def same_host(self, url: str) -> bool:
        """Whether a canonical URL is on the scope's host (robots.txt, sitemaps)."""
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}" == self.origin

    def url_path(self, url: str) -> str:
        """A URL's path as include and exclude globs read it: decoded, without the first '/'."""
        return unquote(urlsplit(url).path).lstrip("/")

    def at(self, path: str) -> str:
        """The URL of ``path`` on the scope's host (``/robots.txt``)."""
        return f"{self.origin}{path}"

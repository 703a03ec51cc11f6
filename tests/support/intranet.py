"""A real HTTP server with a generated Korean-English intranet, and traps, for the web sources.

:class:`Intranet` serves pages from a dict the test changes between syncs (``site.pages``):
each answer carries an ``ETag`` (the body's hash) and a ``Last-Modified``, and a conditional
request for an unchanged page gets a 304 without its body. Every request is logged with its
status and the body bytes sent, so a test can tell what was downloaded. Beside the wiki it
serves a robots.txt, a sitemap, and under ``/trap/`` what a hostile site does: endless
calendar links, a redirect loop, a redirect out of the scope, a gigabyte sent with and without
its length, and a page dripped one byte a second.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

HTML = "text/html; charset=utf-8"
GIGABYTE = 1024**3
_CHUNK = b"\0" * 65536


def page(title: str, body: str, links: list[str] = ()) -> bytes:  # type: ignore[assignment]
    anchors = "".join(f'<li><a href="{href}">{href}</a></li>' for href in links)
    return (
        f"<!doctype html><html><head><title>{title}</title></head><body><main>"
        f"<h1>{title}</h1>{body}<ul>{anchors}</ul></main></body></html>"
    ).encode()


def wiki_pages(pdf: bytes) -> dict[str, tuple[str, bytes]]:
    """The intranet: Korean and English pages, a PDF, links in and out of the scope."""
    return {
        "/wiki/": (
            HTML,
            page(
                "사내 위키",
                "<p>사내 위키에 오신 것을 환영합니다. Welcome to the company wiki.</p>",
                [
                    "hr/leave.html",
                    "security",
                    "en/expenses.html",
                    "files/handbook.pdf",
                    "private/salaries.html",
                    "/admin/",
                    "http://outside.invalid/wiki/",
                    "#top",
                    "mailto:it@example.invalid",
                ],
            ),
        ),
        "/wiki/hr/leave.html": (
            HTML,
            page(
                "휴가 정책",
                "<p>입사 첫해에는 연차 휴가를 최대 11일까지 쓸 수 있습니다.</p>"
                "<p>연차 신청은 그룹웨어의 휴가 메뉴에서 합니다.</p>",
                ["../", "../security"],
            ),
        ),
        "/wiki/security": (
            HTML,
            page(
                "보안 규정",
                "<p>비밀번호는 12자 이상이어야 하며 90일마다 바꿉니다.</p>",
                ["/wiki/hr/leave.html"],
            ),
        ),
        "/wiki/en/expenses.html": (
            HTML,
            page(
                "Travel expenses",
                "<p>Travel expenses must be claimed within 30 days of the trip.</p>",
            ),
        ),
        "/wiki/files/handbook.pdf": ("application/pdf", pdf),
        "/wiki/private/salaries.html": (HTML, page("급여표", "<p>비공개</p>")),
        "/wiki/notice.html": (
            HTML,
            page("Notice", "<p>The cafeteria opens at 8 o'clock. 식당은 8시에 엽니다.</p>"),
        ),
    }


@dataclass
class Request:
    """One request as the server saw it."""

    path: str
    status: int
    body_bytes: int
    conditional: bool


@dataclass
class Site:
    """What the server serves; tests change ``pages`` between syncs."""

    pages: dict[str, tuple[str, bytes]]
    modified: dict[str, float] = field(default_factory=dict)
    log: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def change(self, path: str, content_type: str, body: bytes) -> None:
        with self.lock:
            self.pages[path] = (content_type, body)
            self.modified[path] = time.time() + 1  # a second later, at least

    def remove(self, path: str) -> None:
        with self.lock:
            del self.pages[path]

    def requests(self, prefix: str = "") -> list[Request]:
        with self.lock:
            return [r for r in self.log if r.path.startswith(prefix)]

    def clear_log(self) -> None:
        with self.lock:
            self.log.clear()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet

    def do_GET(self) -> None:
        site = self.server.site
        parts = urlsplit(self.path)
        path = parts.path
        conditional = bool(
            self.headers.get("If-None-Match") or self.headers.get("If-Modified-Since")
        )
        if path == "/robots.txt":
            body = (
                "User-agent: *\nDisallow: /wiki/private/\n"
                f"Sitemap: http://127.0.0.1:{self.server.server_port}/sitemap.xml\n"
            ).encode()
            return self._send(200, "text/plain", body, conditional)
        if path == "/sitemap.xml":
            return self._send(200, "application/xml", self._sitemap(), conditional)
        if path.startswith("/trap/"):
            return self._trap(path, parse_qs(parts.query), conditional)
        with site.lock:
            found = site.pages.get(path)
            modified = site.modified.get(path, self.server.started)
        if found is None:
            return self._send(404, "text/plain", b"not found", conditional)
        content_type, body = found
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        last_modified = formatdate(modified, usegmt=True)
        if self.headers.get("If-None-Match") == etag:
            return self._send(304, None, b"", conditional, etag, last_modified)
        return self._send(200, content_type, body, conditional, etag, last_modified)

    def _sitemap(self) -> bytes:
        base = f"http://127.0.0.1:{self.server.server_port}"
        with self.server.site.lock:
            paths = [p for p in self.server.site.pages if p.startswith("/wiki/")]
        urls = "".join(f"<url><loc>{base}{p}</loc></url>" for p in sorted(paths))
        urls += f"<url><loc>http://outside.invalid/x</loc></url><url><loc>{base}/admin/</loc></url>"
        return (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
        ).encode()

    def _trap(self, path: str, query: dict[str, list[str]], conditional: bool) -> None:
        port = self.server.server_port
        if path == "/trap/":
            links = [
                "ok.html",
                "calendar?month=0",
                "loop-a",
                "away",
                "huge.pdf",
                "huge-declared.pdf",
                "drip.html",
                "http://outside.invalid/",
                "/wiki/",
            ]
            return self._send(200, HTML, page("함정", "<p>trap index</p>", links), conditional)
        if path == "/trap/ok.html":
            body = page("정상 페이지", "<p>이 페이지는 함정 사이에서도 색인되어야 합니다.</p>")
            return self._send(200, HTML, body, conditional)
        if path == "/trap/calendar":
            month = int(query.get("month", ["0"])[0])
            links = [f"calendar?month={month + 1}", f"calendar?month={month - 1}"]
            return self._send(
                200, HTML, page(f"달력 {month}", "<p>일정 없음</p>", links), conditional
            )
        if path in ("/trap/loop-a", "/trap/loop-b"):
            other = "/trap/loop-b" if path.endswith("a") else "/trap/loop-a"
            return self._redirect(other)
        if path == "/trap/away":
            return self._redirect(f"http://localhost:{port}/elsewhere/")
        if path == "/trap/huge-declared.pdf":
            return self._endless(declared=True)
        if path == "/trap/huge.pdf":
            return self._endless(declared=False)
        if path == "/trap/drip.html":
            return self._drip()
        return self._send(404, "text/plain", b"not found", conditional)

    def _send(
        self,
        status: int,
        content_type: str | None,
        body: bytes,
        conditional: bool,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        if etag:
            self.send_header("ETag", etag)
        if last_modified:
            self.send_header("Last-Modified", last_modified)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status != 304:
            self.wfile.write(body)
        self._record(status, 0 if status == 304 else len(body), conditional)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()
        self._record(302, 0, False)

    def _endless(self, *, declared: bool) -> None:
        """A gigabyte of zeros, announced or not; stops when the client hangs up."""
        self.send_response(200)
        self.send_header("Content-Type", "application/pdf")
        if declared:
            self.send_header("Content-Length", str(GIGABYTE))
        else:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        sent = 0
        try:
            while sent < GIGABYTE:
                if declared:
                    self.wfile.write(_CHUNK)
                else:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(_CHUNK), _CHUNK))
                sent += len(_CHUNK)
        except OSError:
            pass
        self.close_connection = True
        self._record(200, sent, False)

    def _drip(self) -> None:
        """A page sent one byte a second (it would take two minutes)."""
        body = page("느린 페이지", "<p>" + "가" * 40 + "</p>")
        self.send_response(200)
        self.send_header("Content-Type", HTML)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        sent = 0
        try:
            for byte in body:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                sent += 1
                if self.server.stopping.wait(1.0):
                    break
        except OSError:
            pass
        self.close_connection = True
        self._record(200, sent, False)

    def _record(self, status: int, sent: int, conditional: bool) -> None:
        with self.server.site.lock:
            path = urlsplit(self.path).path
            self.server.site.log.append(Request(path, status, sent, conditional))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    site: Site
    started: float
    stopping: threading.Event


class Intranet:
    """The intranet on 127.0.0.1 at a free port, for the duration of a ``with`` block."""

    def __init__(self, pdf: Path) -> None:
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.site = Site(wiki_pages(pdf.read_bytes()))
        self.server.started = time.time() - 3600
        self.server.stopping = threading.Event()
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def site(self) -> Site:
        return self.server.site

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def __enter__(self) -> Intranet:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.stopping.set()
        self.server.shutdown()
        self.server.server_close()

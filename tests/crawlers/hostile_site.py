"""Hostile and broken web servers on 127.0.0.1 for crawler tests.

Each ``Host`` is one site (its own port, so its own robots.txt and
politeness): the main one serves normal Arabic articles beside a hostile case
at each path (a gzip bomb, a 50 MB page, an endless chunked body, a
slow-loris, redirects to other schemes, a truncated body, huge and broken
feeds and sitemaps, a calendar trap); the others fail as a whole (429 with
Retry-After, every request 503, a robots.txt that hangs or answers 500, TLS
garbage). Handlers write to the socket themselves where a normal server
could not misbehave enough. Every request is recorded with its times.
"""
from __future__ import annotations

import gzip
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import BaseRequestHandler, ThreadingTCPServer
from urllib.parse import urlsplit

from tests.crawlers.site import TITLES, article_html

HTML = "text/html; charset=utf-8"
XML = "application/xml"
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
# a name that can never resolve (RFC 2606)
DNS_FAILURE_URL = "http://news.hostile.invalid/news/1.html"


@dataclass
class Hit:
    path: str
    started: float
    status: int | None = None


@lru_cache(maxsize=1)
def gzip_bomb(members: int = 64, member_bytes: int = 16 * 1024 * 1024) -> bytes:
    """About 1 MB that gunzips to ``members * member_bytes`` (1 GiB) of
    zeros: gzip members concatenated decompress to one stream."""
    return gzip.compress(b"\0" * member_bytes, compresslevel=9) * members


def urlset(urls: list[str]) -> bytes:
    body = "".join(f"<url><loc>{u}</loc></url>" for u in urls)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="{SITEMAP_NS}">{body}</urlset>'.encode()


def sitemap_index(urls: list[str]) -> bytes:
    body = "".join(f"<sitemap><loc>{u}</loc></sitemap>" for u in urls)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="{SITEMAP_NS}">{body}</sitemapindex>'.encode()


def rss(items: list[tuple[str, str]], *, close: bool = True) -> bytes:
    entries = "".join(f"<item><title>{t}</title><link>{u}</link></item>" for t, u in items)
    tail = "</channel></rss>" if close else ""
    return f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>عدائي</title>{entries}{tail}'.encode()


def _html_head(r: BaseHTTPRequestHandler, **headers: str) -> None:
    """A 200 HTML status line and headers; the handler writes the body."""
    r.send_response(200)
    r.send_header("Content-Type", HTML)
    for name, value in headers.items():
        r.send_header(name.replace("_", "-"), value)
    r.end_headers()


class Host:
    """One HTTP site on its own port. ``routes`` maps a path to a handler
    ``(request) -> None`` that writes the whole response itself."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.hits: list[Hit] = []
        self.routes: dict[str, Callable[[BaseHTTPRequestHandler], int | None]] = {}
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        host = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                hit = Hit(self.path, time.monotonic())
                with host._lock:
                    host.hits.append(hit)
                route = host.routes.get(urlsplit(self.path).path)
                try:
                    hit.status = route(self) if route else host.send(self, 404, HTML, b"<html><body>not found</body></html>")
                except OSError:  # the crawler hung up on a hostile answer: that is the point
                    self.close_connection = True

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self._server.serve_forever, name=f"hostile-{name}", daemon=True).start()

    def url(self, path: str) -> str:
        return self.base_url + path

    def route(self, path: str, handler: Callable[[BaseHTTPRequestHandler], int | None]) -> None:
        self.routes[path] = handler

    def serve(self, path: str, status: int, content_type: str, body: bytes | Callable[[], bytes], **headers: str) -> None:
        self.route(path, lambda r: self.send(r, status, content_type, body() if callable(body) else body, **headers))

    @staticmethod
    def send(r: BaseHTTPRequestHandler, status: int, content_type: str | None, body: bytes, **headers: str) -> int:
        r.send_response(status)
        if content_type:
            r.send_header("Content-Type", content_type)
        for name, value in headers.items():
            r.send_header(name.replace("_", "-"), value)
        r.send_header("Content-Length", str(len(body)))
        r.end_headers()
        r.wfile.write(body)
        return status

    def paths(self, path: str) -> list[Hit]:
        """Requests for ``path`` (any query string)."""
        with self._lock:
            return [h for h in self.hits if urlsplit(h.path).path == path]

    def stop(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()


class TlsGarbage:
    """Accepts TCP connections and answers anything with bytes that are not
    TLS: an https:// URL here fails the handshake."""

    def __init__(self) -> None:
        class Handler(BaseRequestHandler):
            def handle(self) -> None:
                try:
                    self.request.recv(1024)
                    self.request.sendall(b"HTTP/1.1 200 OK\r\n\r\nthis is not TLS" * 4)
                except OSError:
                    pass

        self._server = ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, name="hostile-tls", daemon=True).start()

    def url(self, path: str) -> str:
        return f"https://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class HostileSite:
    """Every host of the hostile universe, started on construction.

    ``cap`` is the crawl's per-listing link limit: the huge feed and the
    huge sitemap list many more links than that, all under a path that
    robots.txt disallows, so the kept ones are refused without a request."""

    HUGE_FEED_ENTRIES = 50_000
    HUGE_SITEMAP_URLS = 60_000

    def __init__(self) -> None:
        self.main = Host("main")
        self.throttle = Host("throttle")
        self.storm = Host("storm")
        self.robots_hang = Host("robots-hang")
        self.robots_500 = Host("robots-500")
        self.tls = TlsGarbage()
        self._setup_main()
        self._setup_others()

    @property
    def hosts(self) -> list[Host]:
        return [self.main, self.throttle, self.storm, self.robots_hang, self.robots_500]

    def stop(self) -> None:
        for host in self.hosts:
            host.stop()
        self.tls.stop()

    # -- URLs the tests reason about -------------------------------------------

    def article_url(self, n: int) -> str:
        return self.main.url(f"/news/{n}.html")

    @property
    def normal_articles(self) -> list[str]:
        return [self.article_url(n) for n in TITLES]

    def hostile(self) -> dict[str, str]:
        """Case name -> the URL a feed lists for it."""
        m = self.main
        return {
            "gzip_bomb": m.url("/bomb.html"),
            "fifty_mb": m.url("/fifty-mb.html"),
            "endless_chunked": m.url("/endless.html"),
            "slow_loris": m.url("/slowloris.html"),
            "redirect_ftp": m.url("/to-ftp.html"),
            "redirect_file": m.url("/to-file.html"),
            "redirect_data": m.url("/to-data.html"),
            "redirect_https_no_tls": m.url("/to-https.html"),
            "tls_garbage": self.tls.url("/news/1.html"),
            "dns_failure": DNS_FAILURE_URL,
            "truncated": m.url("/truncated.html"),
            "not_html_as_html": m.url("/image.html"),
            "empty_body": m.url("/empty.html"),
            "throttled": self.throttle.url("/news/t.html"),
            "storm_article": self.storm.url("/news/s.html"),
        }

    def recorded_url(self, case: str) -> str:
        """The URL the outcome of ``case`` is recorded under: the listed one,
        or for a followed redirect the URL it led to."""
        if case == "redirect_https_no_tls":
            return f"https://127.0.0.1:{self.main.port}/news/7.html"
        return self.hostile()[case]

    # -- the main host ---------------------------------------------------------

    def _setup_main(self) -> None:
        m = self.main
        m.serve("/robots.txt", 200, "text/plain", b"User-agent: *\nDisallow: /private/\n")
        for n in TITLES:
            m.serve(f"/news/{n}.html", 200, HTML, article_html(n).encode())
        hostile = self.hostile()
        # normal articles first and last: progress must not depend on order
        m.serve("/feed.xml", 200, "application/rss+xml", lambda: rss(
            [(TITLES[1], self.article_url(1)), (TITLES[2], self.article_url(2))]
            + [(name, url) for name, url in hostile.items()]
            + [(TITLES[3], self.article_url(3))]
        ))
        # broken XML: the item after the second is cut off and never closed
        m.serve("/broken-feed.xml", 200, "application/rss+xml", lambda: rss(
            [(TITLES[4], self.article_url(4)), (TITLES[5], self.article_url(5))], close=False
        ) + b"<item><title>\xd9\x85\xd9\x82\xd8\xb7\xd9\x88\xd8\xb9<link>http://")
        m.serve("/huge-feed.xml", 200, "application/rss+xml", self._huge_feed)
        m.serve("/sitemap-self.xml", 200, XML, lambda: sitemap_index([m.url("/sitemap-self.xml"), m.url("/sitemap-news.xml")]))
        m.serve("/sitemap-news.xml", 200, XML, lambda: urlset([self.article_url(6)]))
        for n in range(50):
            # an index whose child is an index whose child is an index...
            m.serve(f"/sitemap-chain/{n}.xml", 200, XML, lambda n=n: sitemap_index([m.url(f"/sitemap-chain/{n + 1}.xml")]))
        m.serve("/sitemap-60k.xml", 200, XML, self._huge_sitemap)
        m.serve("/", 200, HTML, self._homepage())
        m.route("/calendar", self._calendar)
        m.route("/bomb.html", lambda r: m.send(r, 200, HTML, gzip_bomb(), Content_Encoding="gzip"))
        m.route("/fifty-mb.html", self._fifty_mb)
        m.route("/endless.html", self._endless_chunked)
        m.route("/slowloris.html", self._slow_loris)
        m.serve("/to-ftp.html", 302, None, b"", Location="ftp://127.0.0.1/pub/article.html")
        m.serve("/to-file.html", 302, None, b"", Location="file:///etc/passwd")
        m.serve("/to-data.html", 302, None, b"", Location="data:text/html,<h1>x</h1>")
        # same host and port, https: the port speaks plain HTTP, so TLS fails
        m.serve("/to-https.html", 301, None, b"", Location=f"https://127.0.0.1:{m.port}/news/7.html")
        m.route("/truncated.html", self._truncated)
        m.serve("/image.html", 200, HTML, b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
        m.serve("/empty.html", 200, HTML, b"")

    def _huge_feed(self) -> bytes:
        return rss([(f"خبر {i}", self.main.url(f"/private/feed/{i}.html")) for i in range(self.HUGE_FEED_ENTRIES)])

    def _huge_sitemap(self) -> bytes:
        return urlset([self.main.url(f"/private/sitemap/{i}.html") for i in range(self.HUGE_SITEMAP_URLS)])

    def _homepage(self) -> bytes:
        links = [self.article_url(8), self.main.url("/calendar?month=1")]
        anchors = "".join(f'<li><a href="{u}">رابط</a></li>' for u in links)
        return f'<!DOCTYPE html><html lang="ar" dir="rtl"><head><meta charset="utf-8"><title>الرئيسية</title></head><body><ul>{anchors}</ul></body></html>'.encode()

    def _calendar(self, r: BaseHTTPRequestHandler) -> int:
        month = int(urlsplit(r.path).query.partition("month=")[2] or 1)
        page = f'<html lang="ar"><body><a href="/calendar?month={month + 1}">الشهر التالي</a></body></html>'
        return self.main.send(r, 200, HTML, page.encode())

    def _fifty_mb(self, r: BaseHTTPRequestHandler) -> int:
        _html_head(r, Content_Length=str(50 * 1024 * 1024))
        chunk = b"<p>" + "نص ".encode() * 10_000 + b"</p>"
        sent = 0
        while sent < 50 * 1024 * 1024 and not self.main.stopping.is_set():
            r.wfile.write(chunk)
            sent += len(chunk)
        return 200

    def _endless_chunked(self, r: BaseHTTPRequestHandler) -> int:
        _html_head(r, Transfer_Encoding="chunked")
        chunk = b"<p>" + "بلا نهاية ".encode() * 3_000 + b"</p>"
        frame = b"%x\r\n%s\r\n" % (len(chunk), chunk)
        while not self.main.stopping.is_set():  # until the crawler hangs up
            r.wfile.write(frame)
        return 200

    def _slow_loris(self, r: BaseHTTPRequestHandler) -> int:
        _html_head(r, Content_Length="100000")
        r.wfile.flush()
        while not self.main.stopping.wait(1.0):  # one byte a second
            r.wfile.write(b"<")
            r.wfile.flush()
        return 200

    def _truncated(self, r: BaseHTTPRequestHandler) -> int:
        body = article_html(1).encode()
        _html_head(r, Content_Length=str(len(body) * 3))
        r.wfile.write(body)
        r.wfile.flush()
        r.connection.shutdown(socket.SHUT_RDWR)
        r.close_connection = True
        return 200

    # -- the hosts that fail as a whole ---------------------------------------------

    def _setup_others(self) -> None:
        t = self.throttle
        t.serve("/robots.txt", 404, "text/plain", b"no robots here\n")
        t.route("/news/t.html", self._throttled)

        s = self.storm
        # no robots.txt (404): every other answer is 503, without Retry-After
        s.route("/robots.txt", lambda r: s.send(r, 404, "text/plain", b"none\n"))
        for path in ("/feed.xml", "/news/s.html"):
            s.serve(path, 503, HTML, b"<html><body>Service Unavailable</body></html>")

        h = self.robots_hang
        h.route("/robots.txt", self._hang)
        h.serve("/feed.xml", 200, "application/rss+xml", lambda: rss([(TITLES[1], h.url("/news/1.html"))]))
        h.serve("/news/1.html", 200, HTML, article_html(1).encode())

        f = self.robots_500
        f.serve("/robots.txt", 500, HTML, b"<html><body>Internal Server Error</body></html>")
        f.serve("/feed.xml", 200, "application/rss+xml", lambda: rss([(TITLES[1], f.url("/news/1.html"))]))
        f.serve("/news/1.html", 200, HTML, article_html(1).encode())

    def _throttled(self, r: BaseHTTPRequestHandler) -> int:
        first = len(self.throttle.paths("/news/t.html")) == 1
        if first:
            return self.throttle.send(r, 429, HTML, b"slow down", Retry_After="4")
        return self.throttle.send(r, 200, HTML, article_html(3).encode())

    def _hang(self, r: BaseHTTPRequestHandler) -> int | None:
        # headers never come: only the crawler's download timeout ends this
        self.robots_hang.stopping.wait(120)
        return None

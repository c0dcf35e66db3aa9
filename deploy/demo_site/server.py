"""The demo news site served over HTTP on loopback.

Besides the articles it serves what crawlers meet on real sites: robots.txt
with a disallowed area, an RSS feed carrying a legacy redirecting URL and a
tracking query, a sitemap index, and (unless ``faults=False``) an article URL
answering 500, a PDF listed among the news, and an article page without any
article text. Every path's first response time is recorded for latency
measurements."""
from __future__ import annotations

import argparse
import struct
import signal
import threading
import time
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qs, urlsplit

import structlog

from deploy.demo_site.content import DemoArticle, load_articles, load_furniture, load_private_article
from deploy.demo_site.render import (
    STYLESHEET,
    SiteView,
    encode_page,
    render_article_page,
    render_error_page,
    render_home,
    render_news_sitemap,
    render_robots,
    render_rss,
    render_section,
    render_sitemap_index,
    render_static_page,
)

log = structlog.get_logger(__name__)

FEED_PATH = "/rss.xml"
SITEMAP_PATH = "/sitemap.xml"
NEWS_SITEMAP_PATH = "/sitemaps/news.xml"
LEGACY_ARTICLE_PATH = "/article.php"
TRACKING_QUERY = "utm_source=rss&utm_medium=feed"

FAULT_HTTP_500 = "http_500"
FAULT_NOT_HTML = "not_html"
FAULT_EMPTY = "empty"
_FAULT_PATHS = {
    FAULT_HTTP_500: "/news/2024/05/parliament-session-live.html",
    FAULT_NOT_HTML: "/files/report.pdf",
    FAULT_EMPTY: "/news/2024/05/empty.html",
}


def _png_1x1() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xcc\xcc\xcc")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def _pdf_report() -> bytes:
    """A small but well-formed one-page PDF (the kind of annual report news
    sites link to)."""
    stream = b"BT /F1 18 Tf 72 720 Td (Annual report 2023) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


_PNG = _png_1x1()
_PDF = _pdf_report()


@dataclass(frozen=True)
class Response:
    status: int
    content_type: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


def _fault_articles(published: datetime) -> dict[str, DemoArticle]:
    """Sitemap metadata (and, for "empty", the page frame) of the fault URLs."""
    furniture = load_furniture()
    placeholder = ["-"]
    return {
        FAULT_HTTP_500: DemoArticle(
            slug="parliament-session-live", section="politics",
            title="بث مباشر: مجلس النواب يناقش قانون الإيجارات القديمة", paragraphs=placeholder,
            published_at=published, author="فريق التحرير", path=_FAULT_PATHS[FAULT_HTTP_500],
        ),
        FAULT_NOT_HTML: DemoArticle(
            slug="annual-report-2023", section="economy",
            title="التقرير السنوي للموقع 2023 (ملف PDF)", paragraphs=placeholder,
            published_at=published, author="فريق التحرير", path=_FAULT_PATHS[FAULT_NOT_HTML],
        ),
        FAULT_EMPTY: DemoArticle(
            slug="empty", section="local", title=furniture["empty_page_title"], paragraphs=placeholder,
            published_at=published, author="فريق التحرير", path=_FAULT_PATHS[FAULT_EMPTY],
            summary=furniture["empty_page_title"], image_caption=furniture["empty_page_caption"],
        ),
    }


class _Routes:
    """Path -> response for one running site (built once its base URL is known)."""

    def __init__(self, site: DemoSite, base_url: str) -> None:
        self.site = site
        self.base_url = base_url
        self.furniture = load_furniture()
        # legacy CMS ids: 1-based position in the whole site, newest first
        # (stable while a gradual site publishes)
        self.by_legacy_id = {str(i + 1): article for i, article in enumerate(site.articles)}
        self.legacy_id = {article.path: key for key, article in self.by_legacy_id.items()}
        self._lock = threading.Lock()
        self._published = -1
        self._view = SiteView(base_url, self.furniture, [], site.private_article.path)
        self._by_path: dict[str, DemoArticle] = {}

    def published(self) -> tuple[SiteView, dict[str, DemoArticle]]:
        """The site as published so far (every article unless it publishes
        gradually), and its articles by path."""
        count = self.site.published_count()
        with self._lock:
            if count != self._published:
                # the newest `count`: a gradual site publishes oldest first
                articles = self.site.articles[len(self.site.articles) - count:]
                self._view = SiteView(self.base_url, self.furniture, articles, self.site.private_article.path)
                self._by_path = {article.path: article for article in articles}
                self._published = count
            return self._view, self._by_path

    @property
    def view(self) -> SiteView:
        return self.published()[0]

    def feed_entries(self) -> list[tuple[DemoArticle, str]]:
        entries = []
        view = self.view
        for i, article in enumerate(view.articles[: self.site.feed_limit]):
            link = view.url(article.path)
            if i == 1:  # a feed still advertising the old CMS URL
                link = view.url(f"{LEGACY_ARTICLE_PATH}?id={self.legacy_id[article.path]}")
            elif i == 2:  # and one with campaign tracking
                link = f"{link}?{TRACKING_QUERY}"
            entries.append((article, link))
        return entries

    def sitemap_entries(self) -> list[tuple[str, DemoArticle]]:
        entries = [(article.path, article) for article in self.view.articles]
        if self.site.faults:
            entries += [(path, self.site.fault_articles[kind]) for kind, path in _FAULT_PATHS.items()]
        return entries

    def html(self, page: str, encoding: str = "utf-8", status: int = 200) -> Response:
        return Response(status, f"text/html; charset={encoding}", encode_page(page, encoding))

    def not_found(self) -> Response:
        return self.html(render_error_page(self.view, 404, self.view.furniture["not_found_text"]), status=404)

    def resolve(self, path: str, query: str) -> Response:
        view, published = self.published()
        if path in published:
            article = published[path]
            response = self.html(render_article_page(view, article), article.encoding)
            stamp = (article.modified_at or article.published_at).astimezone(timezone.utc)
            modified = format_datetime(stamp, usegmt=True)
            return Response(response.status, response.content_type, response.body, (("Last-Modified", modified),))
        if path in ("/", "/index.html"):
            return self.html(render_home(view))
        if path.startswith("/section/"):
            name = path.removeprefix("/section/").strip("/")
            if name in view.furniture.sections:
                return self.html(render_section(view, name))
            return self.not_found()
        if path == self.site.private_article.path:
            return self.html(render_article_page(view, self.site.private_article))
        if path == LEGACY_ARTICLE_PATH:
            article = self.by_legacy_id.get(parse_qs(query).get("id", [""])[0])
            if article is None or article.path not in published:
                return self.not_found()
            return Response(301, "text/html; charset=utf-8", b"", (("Location", view.url(article.path)),))
        if path == "/robots.txt":
            return Response(200, "text/plain; charset=utf-8", render_robots(view).encode("utf-8"))
        if path == FEED_PATH:
            return Response(200, "application/rss+xml; charset=utf-8", render_rss(view, self.feed_entries()).encode())
        if path == SITEMAP_PATH:
            newest = view.articles[0].published_at if view.articles else None
            body = render_sitemap_index(view, [NEWS_SITEMAP_PATH], newest)
            return Response(200, "application/xml; charset=utf-8", body.encode())
        if path == NEWS_SITEMAP_PATH:
            body = render_news_sitemap(view, self.sitemap_entries())
            return Response(200, "application/xml; charset=utf-8", body.encode())
        if self.site.faults:
            fault = self.fault(path)
            if fault is not None:
                return fault
        if path.endswith(".html") and path.count("/") == 1:
            key = path.strip("/").removesuffix(".html")
            if key in view.furniture["static_pages"]:
                return self.html(render_static_page(view, key))
        if path.startswith("/images/") and path.endswith(".png"):
            return Response(200, "image/png", _PNG)
        if path == "/static/site.css":
            return Response(200, "text/css; charset=utf-8", STYLESHEET.encode())
        if path == "/static/site.js":
            return Response(200, "application/javascript; charset=utf-8", b"/* site scripts */\n")
        return self.not_found()

    def fault(self, path: str) -> Response | None:
        if path == _FAULT_PATHS[FAULT_HTTP_500]:
            page = render_error_page(self.view, 500, self.view.furniture["server_error_text"])
            return self.html(page, status=500)
        if path == _FAULT_PATHS[FAULT_NOT_HTML]:
            return Response(200, "application/pdf", _PDF)
        if path == _FAULT_PATHS[FAULT_EMPTY]:
            return self.html(render_article_page(self.view, self.site.fault_articles[FAULT_EMPTY], paragraphs=[]))
        return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    routes: _Routes

    def handle_error(self, request: object, client_address: tuple[str, int]) -> None:
        # the stdlib prints a traceback to stderr, mostly for clients that
        # hung up mid-response (crawlers cancelling downloads)
        log.debug("demo_site.connection_error", client=client_address[0], exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "WahaNews/2.4"
    sys_version = ""
    # idle keep-alive connections must not pin a thread forever
    timeout = 30

    def do_GET(self) -> None:
        self._respond(send_body=True)

    def do_HEAD(self) -> None:
        self._respond(send_body=False)

    def _respond(self, send_body: bool) -> None:
        target = urlsplit(self.path)
        routes = self.server.routes
        try:
            response = routes.resolve(target.path, target.query)
        except Exception:  # a rendering bug must show up as a 500, not a dropped connection
            log.exception("demo_site.render_failed", path=target.path)
            response = Response(500, "text/plain; charset=utf-8", b"internal error")
        routes.site._record(target.path)
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers:
            self.send_header(name, value)
        self.end_headers()
        if send_body:
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (stdlib signature)
        # the stdlib writes one line per request to stderr; keep it at debug
        log.debug("demo_site.request", client=self.client_address[0], message=format % args)


class DemoSite:
    """The demo news site; ``start()`` serves it from a background thread.

    ``gradual=True`` makes a site that publishes over time, as a newsroom
    does: nothing is published until ``publish_gradually(rate)``, then the
    articles come out oldest first at that rate; the home page, sections,
    feed and sitemaps list only those published so far, and an article's
    page answers 404 until its time. ``feed_limit`` keeps only the newest
    entries in the feed, as real feeds do (None: every article)."""

    def __init__(self, articles: list[DemoArticle] | None = None, faults: bool = True, *,
                 gradual: bool = False, feed_limit: int | None = None) -> None:
        chosen = load_articles() if articles is None else list(articles)
        paths = [article.path for article in chosen]
        if len(set(paths)) != len(paths):
            raise ValueError("articles must have distinct paths")
        self.articles = sorted(chosen, key=lambda article: article.published_at, reverse=True)
        self.faults = faults
        self.private_article = load_private_article()
        newest = self.articles[0].published_at if self.articles else self.private_article.published_at
        self.fault_articles = _fault_articles(newest)
        reserved = set(_FAULT_PATHS.values()) | {self.private_article.path}
        if reserved & set(paths):
            raise ValueError(f"article paths collide with reserved paths: {sorted(reserved & set(paths))}")
        self.gradual = gradual
        self.feed_limit = feed_limit
        # (wall-clock start, articles per second) once a gradual site publishes
        self._schedule: tuple[float, float] | None = None
        self._served_at: dict[str, float] = {}
        self._served_lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._base_url: str | None = None

    # --- lifecycle -------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Bind and serve in a background thread; returns the base URL
        (``port=0`` picks a free port)."""
        if self._server is not None:
            raise RuntimeError("demo site already started")
        server = _Server((host, port), _Handler)
        url_host = "127.0.0.1" if host in ("", "0.0.0.0") else host
        self._base_url = f"http://{url_host}:{server.server_address[1]}"
        server.routes = _Routes(self, self._base_url)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="demo-site", daemon=True)
        self._thread.start()
        log.info("demo_site.started", url=self._base_url, articles=len(self.articles), faults=self.faults)
        return self._base_url

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None
        log.info("demo_site.stopped", url=self._base_url)

    def __enter__(self) -> DemoSite:
        if self._server is None:
            self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # --- addresses --------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError("demo site not started")
        return self._base_url

    def url(self, path: str) -> str:
        return self.base_url + path

    @property
    def feed_url(self) -> str:
        return self.url(FEED_PATH)

    @property
    def sitemap_url(self) -> str:
        return self.url(SITEMAP_PATH)

    @property
    def private_url(self) -> str:
        return self.url(self.private_article.path)

    def article_urls(self) -> list[str]:
        """Canonical URLs of the real articles, newest first."""
        return [self.url(article.path) for article in self.articles]

    def fault_urls(self) -> dict[str, str]:
        """Fault kind ("http_500", "not_html", "empty") -> URL; empty when
        the site runs without faults."""
        if not self.faults:
            return {}
        return {kind: self.url(path) for kind, path in _FAULT_PATHS.items()}

    def article_for_url(self, url: str) -> DemoArticle | None:
        path = urlsplit(url).path
        return next((article for article in self.articles if article.path == path), None)

    # --- publishing over time ----------------------------------------------------

    def publish_gradually(self, rate_per_s: float) -> None:
        """From now on publish one article every ``1 / rate_per_s`` seconds,
        the first at once (a site built with ``gradual=True``)."""
        if not self.gradual:
            raise RuntimeError("the site publishes everything at once (gradual=False)")
        if rate_per_s <= 0:
            raise ValueError("rate_per_s must be > 0")
        self._schedule = (time.time(), rate_per_s)

    def published_count(self, now: float | None = None) -> int:
        """How many articles are published at ``now`` (default: this moment)."""
        if not self.gradual:
            return len(self.articles)
        if self._schedule is None:
            return 0
        start, rate = self._schedule
        elapsed = (time.time() if now is None else now) - start
        return 0 if elapsed < 0 else min(len(self.articles), int(elapsed * rate) + 1)

    def publication_times(self) -> dict[str, float]:
        """URL path -> wall-clock time it was (or will be) published, for a
        site publishing gradually; empty before ``publish_gradually``."""
        if self._schedule is None:
            return {}
        start, rate = self._schedule
        oldest_first = reversed(self.articles)
        return {article.path: start + i / rate for i, article in enumerate(oldest_first)}

    # --- serving log ------------------------------------------------------------

    @property
    def served_at(self) -> dict[str, float]:
        """URL path (without query) -> wall-clock time (``time.time()``) of
        its first response, a snapshot."""
        with self._served_lock:
            return dict(self._served_at)

    def _record(self, path: str) -> None:
        now = time.time()
        with self._served_lock:
            self._served_at.setdefault(path, now)


def main(argv: list[str] | None = None) -> None:
    """Serve the demo site in the foreground (``python -m deploy.demo_site``)."""
    from deploy.demo_site.generate import generate_articles

    parser = argparse.ArgumentParser(description="Serve the bundled demo Arabic news site on loopback.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8800)
    parser.add_argument("--articles", type=int, default=0,
                        help="serve this many generated articles instead of the bundled ones")
    parser.add_argument("--no-faults", action="store_true", help="leave out the 500/PDF/empty fault URLs")
    args = parser.parse_args(argv)
    articles = generate_articles(args.articles) if args.articles else None
    serve(args.host, args.port, articles, faults=not args.no_faults)


def serve(host: str, port: int, articles: list[DemoArticle] | None = None, faults: bool = True) -> None:
    """Serve the site in the foreground until interrupted (SIGINT/SIGTERM)."""
    site = DemoSite(articles, faults=faults)
    base_url = site.start(host, port)
    print(f"demo site: {base_url}/  feed: {site.feed_url}  sitemap: {site.sitemap_url}", flush=True)
    stopped = threading.Event()
    # Containers stop services with SIGTERM; end as cleanly as on Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        site.stop()

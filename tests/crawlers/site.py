"""A small Arabic news site on 127.0.0.1 for crawler tests.

Realistic in the ways that matter to the crawler: RTL Arabic pages, an RSS
feed whose links carry tracking parameters or go through redirects, a
robots.txt with a Disallow and a Sitemap line, a sitemap index pointing at a
Google-News urlset, a gzipped sitemap and a missing one, a section page, a
windows-1256 page, a PDF, a page that always answers 500, and one page too
large for a small Kafka message limit. Every request is recorded.
"""
from __future__ import annotations

import gzip
import random
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

TITLES = {
    1: "البنك المركزي يثبت أسعار الفائدة",
    2: "موجة حر تضرب القاهرة هذا الأسبوع",
    3: "افتتاح مهرجان خاري بلبل في شوشا",
    4: "محادثات لجنة الحدود في باكو",
    5: "قره باغ يفوز بالدوري الأذربيجاني",
    6: "شركة ناشئة أردنية تنسخ اللهجات",
    7: "وزير الخارجية يزور عمّان",
    8: "ارتفاع أسعار الذهب في الأسواق العربية",
}
# article 4 is served in windows-1256, the others in UTF-8
WINDOWS_1256 = {4}


def article_html(n: int) -> str:
    title = TITLES[n]
    paragraph = f"{title}. " + "وقال المتحدث باسم الوزارة إن الاجتماع تناول سبل التعاون المشترك في المرحلة المقبلة. " * 6
    charset = "windows-1256" if n in WINDOWS_1256 else "utf-8"
    return (
        f'<!DOCTYPE html>\n<html lang="ar" dir="rtl"><head><meta charset="{charset}">'
        f"<title>{title} | أخبار الاختبار</title></head><body>"
        f'<header><nav><a href="/">الرئيسية</a> <a href="/section/politics">سياسة</a></nav></header>'
        f"<article><h1>{title}</h1><time datetime=\"2024-05-0{n % 9 + 1}T09:30:00+03:00\"></time>"
        f"<p>{paragraph}</p><p>{paragraph}</p></article></body></html>"
    )


def big_html() -> bytes:
    # incompressible filler: zstd cannot shrink it below the test's limit
    filler = random.Random(7).randbytes(40_000).hex()
    return f'<html lang="ar" dir="rtl"><body><p>صفحة كبيرة</p><!-- {filler} --></body></html>'.encode()


class TestSite:
    """``start()`` -> base URL; ``hits`` counts requests per path+query."""

    __test__ = False  # not a pytest test class

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    # -- URLs the tests reason about ------------------------------------------

    def url(self, path: str) -> str:
        return self.base_url + path

    @property
    def feed_url(self) -> str:
        return self.url("/feed.xml")

    @property
    def robots_url(self) -> str:
        return self.url("/robots.txt")

    @property
    def sitemap_index_url(self) -> str:
        return self.url("/sitemap_index.xml")

    @property
    def section_url(self) -> str:
        return self.url("/section/politics")

    def article_url(self, n: int) -> str:
        return self.url(f"/news/{n}.html")

    def path_hits(self, path: str) -> int:
        """Requests for ``path`` with any query string."""
        return sum(n for p, n in self.hits.items() if p.split("?", 1)[0] == path)

    # -- content ---------------------------------------------------------------

    def robots(self) -> str:
        return f"User-agent: *\nDisallow: /private/\n\nSitemap: {self.sitemap_index_url}\n"

    def feed(self) -> str:
        items = [
            (1, "/news/1.html?utm_source=rss&utm_medium=feed", "Mon, 06 May 2024 07:00:00 GMT"),
            (2, "/go/2?utm_source=rss", "Tue, 07 May 2024 08:15:00 +0300"),
            (3, "/news/3.html", "Wed, 08 May 2024 10:00:00 GMT"),
            (7, "/go/7", "Thu, 09 May 2024 11:00:00 GMT"),
            (8, "/news/8.html?utm_source=rss", "Fri, 10 May 2024 12:00:00 GMT"),
        ]
        entries = "".join(
            f"<item><title>{TITLES[n]}</title><link>{self.base_url}{path}</link><pubDate>{date}</pubDate></item>"
            for n, path, date in items
        )
        extra = (
            f"<item><title>مسودة الميزانية</title><link>{self.base_url}/private/draft.html</link></item>"
            "<item><title>خادم لا يجيب</title><link>http://127.0.0.1:1/news/down.html</link></item>"
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
            f"<title>أخبار الاختبار</title><link>{self.base_url}/</link><language>ar</language>"
            f"{entries}{extra}</channel></rss>"
        )

    def sitemap_index(self) -> str:
        children = ["/sitemaps/news.xml", "/sitemaps/more.xml.gz", "/sitemaps/missing.xml", "/sitemaps/broken.xml"]
        body = "".join(f"<sitemap><loc>{self.base_url}{c}</loc></sitemap>" for c in children)
        return f'<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{body}</sitemapindex>'

    def news_sitemap(self) -> str:
        def entry(path: str, title: str, date: str) -> str:
            return (
                f"<url><loc>{self.base_url}{path}</loc><news:news><news:publication>"
                "<news:name>أخبار الاختبار</news:name><news:language>ar</news:language></news:publication>"
                f"<news:publication_date>{date}</news:publication_date><news:title>{title}</news:title></news:news></url>"
            )

        body = "".join(
            [
                entry("/news/1.html", TITLES[1], "2024-05-06T10:00:00+03:00"),
                entry("/news/2.html", TITLES[2], "2024-05-07T08:15:00+03:00"),
                entry("/news/4.html", TITLES[4], "2024-05-04"),
                entry("/news/broken.html", "صفحة معطلة", "2024-05-05"),
            ]
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">' + body + "</urlset>"
        )

    def more_sitemap_gz(self) -> bytes:
        body = "".join(
            f"<url><loc>{self.base_url}{p}</loc><lastmod>{d}</lastmod></url>"
            for p, d in [("/news/5.html", "2024-05-03T12:00:00Z"), ("/files/report.pdf", "2024-05-02"), ("/big.html", "2024-05-01")]
        )
        xml = f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{body}</urlset>'
        return gzip.compress(xml.encode())

    def section(self) -> str:
        links = [
            "/news/6.html",
            "/news/1.html#comments",
            "http://other.example/news/9.html",
            "/about",
            "/private/draft.html",
        ]
        anchors = "".join(f'<li><a href="{href}">رابط</a></li>' for href in links)
        return f'<!DOCTYPE html><html lang="ar" dir="rtl"><head><meta charset="utf-8"><title>سياسة</title></head><body><ul>{anchors}</ul></body></html>'

    def respond(self, path: str, query: str) -> tuple[int, dict[str, str], bytes]:
        html = "text/html; charset=utf-8"
        if path == "/robots.txt":
            return 200, {"Content-Type": "text/plain"}, self.robots().encode()
        if path == "/feed.xml":
            return 200, {"Content-Type": "application/rss+xml; charset=utf-8"}, self.feed().encode()
        if path == "/sitemap_index.xml":
            return 200, {"Content-Type": "application/xml"}, self.sitemap_index().encode()
        if path == "/sitemaps/news.xml":
            return 200, {"Content-Type": "application/xml"}, self.news_sitemap().encode()
        if path == "/sitemaps/more.xml.gz":
            # served as a file, not with Content-Encoding: Scrapy leaves it gzipped
            return 200, {"Content-Type": "application/x-gzip"}, self.more_sitemap_gz()
        if path == "/sitemaps/broken.xml":
            return 200, {"Content-Type": "text/html"}, b"<html><body>maintenance</body></html>"
        if path == "/section/politics":
            return 200, {"Content-Type": html}, self.section().encode()
        if path == "/go/2":
            return 302, {"Location": self.article_url(2)}, b""
        if path == "/go/7":
            return 301, {"Location": self.article_url(7) + "?utm_source=rss&utm_campaign=spring"}, b""
        if path == "/news/8.html" and "utm_" in query:
            # the site itself strips tracking parameters
            return 301, {"Location": self.article_url(8)}, b""
        if path == "/news/broken.html":
            return 500, {"Content-Type": html}, b"<html><body>Internal error</body></html>"
        if path == "/files/report.pdf":
            return 200, {"Content-Type": "application/pdf"}, b"%PDF-1.4\n% test\n1 0 obj <<>> endobj\n%%EOF\n"
        if path == "/big.html":
            return 200, {"Content-Type": html}, big_html()
        if path == "/private/draft.html":
            return 200, {"Content-Type": html}, article_html(1).encode()
        if path.startswith("/news/") and path.endswith(".html"):
            stem = path.removeprefix("/news/").removesuffix(".html")
            if stem.isdigit() and int(stem) in TITLES:
                n = int(stem)
                if n in WINDOWS_1256:
                    return 200, {"Content-Type": "text/html; charset=windows-1256"}, article_html(n).encode("cp1256")
                return 200, {"Content-Type": html}, article_html(n).encode()
        return 404, {"Content-Type": html}, b"<html><body>not found</body></html>"

    # -- server -----------------------------------------------------------------

    def start(self, host: str = "127.0.0.1") -> str:
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                parts = urlsplit(self.path)
                with site._lock:
                    site.hits[self.path] += 1
                status, headers, body = site.respond(parts.path, parts.query)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self._server = ThreadingHTTPServer((host, 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.base_url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="test-site", daemon=True)
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


ROUTED_ARTICLE = ("<html><head><title>خبر</title></head><body><article><p>" + "نص الخبر. " * 40 + "</p></article></body></html>").encode()


class RoutedSite(TestSite):
    """A web server on one loopback address: ``routes`` maps a path to
    (status, headers, body)."""

    def __init__(self, host: str) -> None:
        super().__init__()
        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.start(host)

    def respond(self, path: str, query: str) -> tuple[int, dict[str, str], bytes]:
        return self.routes.get(path, (404, {}, b"not found"))

    def feed(self, path: str, links: list[str]) -> str:
        items = "".join(f"<item><title>خبر {i}</title><link>{url}</link></item>" for i, url in enumerate(links))
        body = f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'
        self.routes[path] = (200, {"Content-Type": "application/rss+xml"}, body.encode())
        return self.base_url + path

    def article(self, path: str) -> str:
        self.routes[path] = (200, {"Content-Type": "text/html; charset=utf-8"}, ROUTED_ARTICLE)
        return self.base_url + path

    def redirect(self, path: str, target: str) -> str:
        self.routes[path] = (302, {"Location": target}, b"")
        return self.base_url + path

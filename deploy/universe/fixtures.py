"""The seven fixture sites crawler tests run against.

Each one exercises a different way of finding articles (listed feeds and
sitemaps, feed autodiscovery, robots.txt sitemaps, sections) or a different
way of failing (throttling, traps, broken links, slowness, outage). URLs of
faulty resources are exposed as attributes so tests need not hard-code them.
"""
from __future__ import annotations

import random
import threading
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from deploy.universe import feeds
from deploy.universe.lang import AR, EN, FA, FR, RU
from deploy.universe.server import Universe
from deploy.universe.sites import (
    DEFAULT_ANCHOR,
    HTML,
    TEXT,
    Article,
    NewsSite,
    Request,
    Response,
    redirect,
)

CLOSED_PORT_URL = "http://127.0.0.1:1/x"


class Akhbar(NewsSite):
    """Arabic; everything listed in the source: RSS, sitemap index (Google
    News + gzipped archive) and two sections, each covering ~60%."""

    section_keys = ("politics", "economy")
    announced_feeds = (("application/rss+xml", "/rss.xml", "RSS"),)
    FEED_SIZE = 36
    NEWS_SIZE = 12
    TRACKING = "utm_source=rss&utm_medium=feed"

    def __init__(self, anchor: datetime = DEFAULT_ANCHOR, count: int = 60) -> None:
        # Fourth newest: in the feed, so every crawler meets the legacy charset.
        self._cp1256_k = count - 4
        super().__init__("akhbar", AR, title="أخبار اليوم", count=count, first_number=48210,
                         spacing=timedelta(hours=7), anchor=anchor)

    def article_path(self, number: int, section: str, published: datetime, slug: str, title: str) -> str:
        return f"/ar/news/{published:%Y/%m/%d}/{number}-{slug}.html"

    def section_path(self, key: str) -> str:
        return f"/ar/section/{key}"

    def article_charset(self, k: int) -> str:
        return "windows-1256" if k == self._cp1256_k else "utf-8"

    @property
    def windows_1256_url(self) -> str:
        return self.url(self.articles[self._cp1256_k].path)

    def setup(self) -> None:
        self.route("/rss.xml", lambda r: self.rss_response("/rss.xml", (self.feed_item(a, self.TRACKING) for a in self.feed_articles())))
        self.route("/sitemap.xml", lambda r: self.xml_response(feeds.sitemap_index(
            [(self.url("/sitemaps/news.xml"), self._changed), (self.url("/sitemaps/archive.xml.gz"), self._changed)])))
        self.route("/sitemaps/news.xml", lambda r: self.news_sitemap_response(self.newest(self.NEWS_SIZE)))
        self.route("/sitemaps/archive.xml.gz", lambda r: self.xml_response(
            feeds.urlset((self.url(a.path), a.published) for a in self.archive_articles()), gzipped=True))

    def feed_articles(self) -> list[Article]:
        return self.newest(self.FEED_SIZE)

    def archive_articles(self) -> list[Article]:
        # Everything that has dropped out of the feed: feed + sitemaps always
        # cover the whole site, even after publish() pushes items out.
        return self.newest()[self.FEED_SIZE:]

    def section_articles(self, key: str) -> list[Article]:
        return [a for a in self.newest(section=key) if a.fresh or a.k % 5 < 3]

    def listed(self) -> list[Article]:
        found = self.feed_articles() + self.newest(self.NEWS_SIZE) + self.archive_articles()
        return found + [a for key in self.section_keys for a in self.section_articles(key)]

    def robots_txt(self) -> str:
        return f"User-agent: *\nDisallow: /search\nDisallow: /ar/print/\n\nSitemap: {self.url('/sitemap.xml')}\n"

    def source_entry(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "feeds": [self.url("/rss.xml")],
            "sitemaps": [self.url("/sitemap.xml")],
            "sections": [self.url(self.section_path(k)) for k in self.section_keys],
        }


class Sahafa(NewsSite):
    """Arabic div-soup portal known only by its homepage: feeds must be
    found through <link rel=alternate>; robots.txt has Crawl-delay and a
    Disallow that the RSS feed ignores."""

    layout = "divsoup"
    section_keys = ("politics", "economy", "sport", "culture")
    announced_feeds = (
        ("application/rss+xml", "/feeds/latest", "آخر الأخبار"),
        ("application/atom+xml", "/feeds/atom", "Atom"),
    )
    RSS_SIZE = 30
    ATOM_SIZE = 50

    def __init__(self, anchor: datetime = DEFAULT_ANCHOR, count: int = 56) -> None:
        super().__init__("sahafa", AR, title="صحافة نت", count=count, first_number=7301,
                         spacing=timedelta(hours=5), anchor=anchor)

    def article_path(self, number: int, section: str, published: datetime, slug: str, title: str) -> str:
        # Arabic slugs, percent-encoded (upper-case hex, as browsers send them).
        return f"/story/{published:%Y/%m/%d}/{quote(title.replace(' ', '-'), safe='-')}/{number}"

    def section_path(self, key: str) -> str:
        return f"/category/{key}"

    def setup(self) -> None:
        newest = self.articles[-1] if self.articles else None
        rng = random.Random("sahafa:private")
        number = self._first_number + 900
        self.private = Article(
            k=-1, number=number, section="politics", title=self.lang.headline_text(rng), summary=self.lang.sentence(rng),
            author=rng.choice(self.lang.people), published=(newest.published if newest else DEFAULT_ANCHOR) - timedelta(hours=1),
            path=f"/private/drafts/{number}.html", public=False,
        )
        self._extra = (self.private,)
        self._by_path[self.private.path] = self.private
        self.route("/feeds/latest", lambda r: self.rss_response("/feeds/latest", self._rss_items()))
        self.route("/feeds/atom", lambda r: self.atom_response("/feeds/atom", (self.feed_item(a) for a in self.newest(self.ATOM_SIZE))))

    @property
    def private_url(self) -> str:
        return self.url(self.private.path)

    def _rss_items(self) -> list[feeds.FeedItem]:
        items = [self.feed_item(a) for a in self.newest(self.RSS_SIZE)]
        items.insert(min(1, len(items)), self.feed_item(self.private))
        return items

    def listed(self) -> list[Article]:
        return self.newest(self.homepage_count) + self.newest(self.RSS_SIZE) + self.newest(self.ATOM_SIZE)

    def robots_txt(self) -> str:
        return "User-agent: *\nCrawl-delay: 1\nDisallow: /private/\nDisallow: /search\n"

    def source_entry(self) -> dict[str, Any]:
        return {"name": self.name, "homepage": self.homepage}


class Nouvelles(NewsSite):
    """French, no feed at all, known only by its homepage: the sitemaps are
    named only by robots.txt (an index of a news sitemap and monthly ones)."""

    layout = "magazine"
    section_keys = ("politique", "economie", "culture", "sport")
    homepage_count = 16

    def __init__(self, anchor: datetime = DEFAULT_ANCHOR, count: int = 64) -> None:
        super().__init__("nouvelles", FR, title="Les Nouvelles du Jour", count=count, first_number=2311,
                         spacing=timedelta(hours=22), anchor=anchor)

    def article_path(self, number: int, section: str, published: datetime, slug: str, title: str) -> str:
        return f"/{section}/{published:%Y/%m/%d}/{slug}-{number}"

    def setup(self) -> None:
        self.route("/sitemap_index.xml", lambda r: self.xml_response(feeds.sitemap_index(
            [(self.url("/sitemap-news.xml"), self._changed)] + [(self.url(f"/sitemaps/{m}.xml"), None) for m in self.months()])))
        self.route("/sitemap-news.xml", lambda r: self.news_sitemap_response(self.news_articles()))

    def months(self) -> list[str]:
        return sorted({f"{a.published:%Y-%m}" for a in self.articles}, reverse=True)

    def news_articles(self) -> list[Article]:
        # Google News sitemaps carry only the last two days.
        if not self.articles:
            return []
        since = self.articles[-1].published - timedelta(days=2)
        return [a for a in self.newest() if a.published >= since]

    def dynamic(self, request: Request) -> Response | None:
        if request.path.startswith("/sitemaps/") and request.path.endswith(".xml"):
            month = request.path[len("/sitemaps/"):-len(".xml")]
            picked = [a for a in self.articles if f"{a.published:%Y-%m}" == month]
            if picked:
                return self.xml_response(feeds.urlset((self.url(a.path), a.published) for a in picked))
        return None

    def listed(self) -> tuple[Article, ...]:
        return self.articles  # the monthly sitemaps list everything

    def robots_txt(self) -> str:
        return (
            "User-agent: *\nDisallow: /recherche\nDisallow: /mon-compte/\n\n"
            f"Sitemap: {self.url('/sitemap_index.xml')}\nSitemap: {self.url('/sitemap-news.xml')}\n"
        )

    def source_entry(self) -> dict[str, Any]:
        return {"name": self.name, "homepage": self.homepage}


class Novosti(NewsSite):
    """Russian; RSS + sections. One article answers 429 (Retry-After: 2)
    and another 503 (Retry-After: 1) to their first request only."""

    section_keys = ("politics", "economy", "society")
    announced_feeds = (("application/rss+xml", "/rss", "RSS"),)
    FEED_SIZE = 40

    def __init__(self, anchor: datetime = DEFAULT_ANCHOR, count: int = 60) -> None:
        super().__init__("novosti", RU, title="Новости Дня", count=count, first_number=120450,
                         spacing=timedelta(hours=6), anchor=anchor)

    def article_path(self, number: int, section: str, published: datetime, slug: str, title: str) -> str:
        return f"/news/{number}"

    def setup(self) -> None:
        self.route("/rss", lambda r: self.rss_response("/rss", (self.feed_item(a) for a in self.newest(self.FEED_SIZE))))
        self.route("/sitemap.xml", lambda r: self.xml_response(feeds.urlset((self.url(a.path), a.published) for a in self.articles)))
        self._throttled, self._unavailable = self.articles[-2], self.articles[-4]
        self._one_shot = {
            self._throttled.path: (429, "2", "Too Many Requests"),
            self._unavailable.path: (503, "1", "Service Unavailable"),
        }
        self._tripped: set[str] = set()
        self._fault_lock = threading.Lock()

    @property
    def throttled_url(self) -> str:
        """Answers 429 with Retry-After: 2 to its first request."""
        return self.url(self._throttled.path)

    @property
    def unavailable_url(self) -> str:
        """Answers 503 with Retry-After: 1 to its first request."""
        return self.url(self._unavailable.path)

    def reset_faults(self) -> None:
        with self._fault_lock:
            self._tripped.clear()

    def fault(self, request: Request) -> Response | None:
        hit = self._one_shot.get(request.path)
        if hit is None:
            return None
        with self._fault_lock:
            if request.path in self._tripped:
                return None
            self._tripped.add(request.path)
        status, retry_after, reason = hit
        return Response(status, f"<html><body><h1>{status} {reason}</h1></body></html>".encode(), HTML,
                        (("Retry-After", retry_after),))

    def section_articles(self, key: str) -> list[Article]:
        return self.newest(section=key)

    def listed(self) -> tuple[Article, ...]:
        return self.articles  # sections list every article of theirs

    def robots_txt(self) -> str:
        return f"User-agent: *\nDisallow: /search\n\nSitemap: {self.url('/sitemap.xml')}\n"

    def source_entry(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "feeds": [self.url("/rss")],
            "sections": [self.url(self.section_path(k)) for k in self.section_keys],
        }


_MONTH_ABBR = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


@lru_cache(maxsize=1)
def huge_page() -> bytes:
    """> 9 MB of HTML; random hex so compression cannot shrink it under a limit either."""
    filler = random.Random(7).randbytes(4_800_000).hex()
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Live: every update, all day</title></head>'
        f"<body><h1>Live: every update, all day</h1><p>Refresh for the latest.</p><!-- {filler} --></body></html>"
    ).encode()


def pdf_document() -> bytes:
    stream = b"BT /F1 18 Tf 72 720 Td (Annual report 2026) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = b"%PDF-1.4\n", []
    for i, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (i, obj)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    return out + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)


class Daily(NewsSite):
    """English; sections + RSS. Sections paginate forever and carry an
    endlessly-backwards archive calendar (crawler traps); the feed lists
    broken things next to real articles."""

    section_keys = ("world", "business")
    announced_feeds = (("application/rss+xml", "/feed.xml", "Daily RSS"),)
    homepage_count = 12
    FEED_SIZE = 30
    PAGE_SIZE = 10
    # Feed-listed faults, by kind; the values are paths on the site (or an absolute URL).
    FAULT_PATHS = {
        "not_found": "/world/2026/nov/20/withdrawn-story-pulled",
        "redirect_loop": "/loop/a",
        "server_error": "/business/2026/nov/25/markets-live-updates",
        "pdf": "/documents/annual-report-2026.pdf",
        "huge": "/huge",
        "closed_port": CLOSED_PORT_URL,
    }

    def __init__(self, anchor: datetime = DEFAULT_ANCHOR, count: int = 60) -> None:
        super().__init__("daily", EN, title="The Daily Courier", count=count, first_number=90210,
                         spacing=timedelta(hours=9), anchor=anchor)

    def article_path(self, number: int, section: str, published: datetime, slug: str, title: str) -> str:
        return f"/{section}/{published:%Y}/{_MONTH_ABBR[published.month - 1]}/{published:%d}/{slug}"

    def section_path(self, key: str) -> str:
        return f"/{key}"

    def setup(self) -> None:
        self.redirect_target = self.articles[-3]
        self.route("/feed.xml", lambda r: self.rss_response("/feed.xml", self._feed_items()))
        # Infinite families of pages: never cached.
        for key in self.section_keys:
            self.route(self.section_path(key), lambda r, key=key: self.section_response(key, r), cache=False)
        self.route(f"/story/{self.redirect_target.number}", lambda r: redirect(self.url(self.redirect_target.path)), cache=False)
        self.route("/loop/a", lambda r: redirect(self.url("/loop/b")), cache=False)
        self.route("/loop/b", lambda r: redirect(self.url("/loop/a")), cache=False)
        self.route(self.FAULT_PATHS["server_error"], lambda r: self.error_response(500, "Internal Server Error"), cache=False)
        self.route(self.FAULT_PATHS["pdf"], lambda r: Response(200, pdf_document(), "application/pdf"), cache=False)
        self.route(self.FAULT_PATHS["huge"], lambda r: Response(200, huge_page(), HTML), cache=False)

    @property
    def fault_urls(self) -> dict[str, str]:
        """Kind -> URL of every faulty item in the feed."""
        urls = {kind: path if path.startswith("http") else self.url(path) for kind, path in self.FAULT_PATHS.items()}
        urls["redirect"] = self.url(f"/story/{self.redirect_target.number}")
        return urls

    def _feed_items(self) -> list[feeds.FeedItem]:
        items = []
        for a in self.newest(self.FEED_SIZE):
            item = self.feed_item(a)
            if a is self.redirect_target:
                item = feeds.FeedItem(a.title, self.url(f"/story/{a.number}"), a.published, a.summary, item.guid)
            items.append(item)
        titles = {
            "not_found": "Withdrawn: story pulled", "redirect_loop": "Read more",
            "server_error": "Markets live: updates", "pdf": "Annual report 2026 (PDF)",
            "huge": "Live: every update, all day", "closed_port": "Partner story",
        }
        urls = self.fault_urls
        for slot, kind in enumerate(titles):
            at = min(1 + 2 * slot, len(items))
            when = items[at - 1].published - timedelta(minutes=30) if items else self._changed
            items.insert(at, feeds.FeedItem(titles[kind], urls[kind], when, guid=f"daily-{kind}"))
        return items

    def section_response(self, key: str, request: Request) -> Response:
        try:
            page = max(1, int(request.params.get("page", ["1"])[0]))
        except ValueError:
            page = 1
        mine = self.newest(section=key)
        if page == 1:
            shown = mine
        else:
            # Pages never run out: they cycle through the same articles.
            start = ((page - 2) * self.PAGE_SIZE) % max(1, len(mine))
            shown = (mine[start:] + mine[:start])[: self.PAGE_SIZE]
        label = self.lang.sections[key]
        heading = label if page == 1 else f"{label} — {self.lang.labels['page']} {page}"
        pager = f'<nav class="pagination"><a rel="next" href="{self.section_path(key)}?page={page + 1}">{self.lang.labels["next"]} ›</a></nav>'
        return self.listing_page(heading, shown, extra=pager, sidebar_extra=self._calendar(self._newest_day()))

    def homepage_response(self, request: Request) -> Response:
        head = '<link rel="alternate" type="application/rss+xml" title="Daily RSS" href="/feed.xml">'
        return self.listing_page(self.lang.labels["latest"], self.newest(self.homepage_count), head=head,
                                 sidebar_extra=self._calendar(self._newest_day()))

    def _newest_day(self) -> Any:
        return (self.articles[-1].published if self.articles else DEFAULT_ANCHOR).date()

    def _calendar(self, day: Any) -> str:
        links = "".join(
            f'<li><a href="/archive/{d:%Y/%m/%d}">{d.day} {_MONTH_ABBR[d.month - 1].title()}</a></li>'
            for d in (day - timedelta(days=i) for i in range(7))
        )
        older = day - timedelta(days=7)
        return (
            f'<div class="calendar"><h3>{self.lang.labels["archive"]}</h3><ul>{links}</ul>'
            f'<a class="older" href="/archive/{older:%Y/%m/%d}">‹ older</a></div>'
        )

    def dynamic(self, request: Request) -> Response | None:
        parts = request.path.strip("/").split("/")
        if len(parts) != 4 or parts[0] != "archive":
            return None
        try:
            day = datetime(int(parts[1]), int(parts[2]), int(parts[3])).date()
        except ValueError:
            return None
        shown = [a for a in self.newest() if a.published.date() == day]
        heading = f"{self.lang.labels['archive']}: {day.day} {self.lang.months[day.month - 1]} {day.year}"
        return self.listing_page(heading, shown, sidebar_extra=self._calendar(day))

    def listed(self) -> list[Article]:
        # Page 1 of each section lists every article of that section.
        return self.newest(self.FEED_SIZE) + [a for k in self.section_keys for a in self.newest(section=k)]

    def source_entry(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "sections": [self.url(self.section_path(k)) for k in self.section_keys],
            "feeds": [self.url("/feed.xml")],
        }


class Slow(NewsSite):
    """Persian; every response takes ``latency_s`` (default 1.5 s)."""

    section_keys = ("politics", "economy", "society")
    announced_feeds = (("application/rss+xml", "/fa/rss", "RSS"),)

    def __init__(self, anchor: datetime = DEFAULT_ANCHOR, count: int = 30, latency_s: float = 1.5) -> None:
        super().__init__("slow", FA, title="خبرگزاری آهسته", count=count, first_number=5100,
                         spacing=timedelta(hours=8), anchor=anchor, latency_s=latency_s)

    def article_path(self, number: int, section: str, published: datetime, slug: str, title: str) -> str:
        return f"/fa/news/{number}/{slug}"

    def section_path(self, key: str) -> str:
        return f"/fa/{key}"

    def setup(self) -> None:
        self.route("/fa/rss", lambda r: self.rss_response("/fa/rss", (self.feed_item(a) for a in self.newest())))

    def source_entry(self) -> dict[str, Any]:
        return {"name": self.name, "feeds": [self.url("/fa/rss")]}


class Down(NewsSite):
    """Answers 500 to everything but robots.txt (404): a source that keeps failing."""

    section_keys = ("world",)

    def __init__(self, anchor: datetime = DEFAULT_ANCHOR) -> None:
        super().__init__("down", EN, title="Down Times", count=0, first_number=1, spacing=timedelta(hours=1), anchor=anchor)

    def fault(self, request: Request) -> Response:
        if request.path == "/robots.txt":
            return Response(404, b"Not Found\n", TEXT)
        return Response(500, b"<html><body><h1>500 Internal Server Error</h1></body></html>", HTML)

    def publish(self, count: int = 1) -> list[str]:
        raise ValueError("site 'down' has nowhere to publish: every listing answers 500")

    def listed(self) -> list[Article]:
        return []

    def source_entry(self) -> dict[str, Any]:
        return {"name": self.name, "homepage": self.homepage, "feeds": [self.url("/feed.xml")]}


def fixture_sites(anchor: datetime = DEFAULT_ANCHOR, *, slow_latency_s: float = 1.5) -> list[NewsSite]:
    return [
        Akhbar(anchor), Sahafa(anchor), Nouvelles(anchor), Novosti(anchor), Daily(anchor),
        Slow(anchor, latency_s=slow_latency_s), Down(anchor),
    ]


def fixture_universe(anchor: datetime = DEFAULT_ANCHOR, *, slow_latency_s: float = 1.5,
                     first_host: int = 11, port_base: int = 0) -> Universe:
    """The seven fixture sites, not started yet."""
    return Universe(fixture_sites(anchor, slow_latency_s=slow_latency_s), first_host=first_host, port_base=port_base)


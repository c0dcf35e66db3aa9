"""Site model: articles, HTTP request/response values and the ``NewsSite``
base class that concrete fixture and generated sites specialise.

A site is pure content plus routing: it never touches sockets. The server
(``deploy.universe.server``) binds it, adds the request log, latency and
conditional GET, so the same behaviour applies to every site.
"""
from __future__ import annotations

import gzip
import random
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, unquote

from deploy.universe import feeds, render
from deploy.universe.lang import Lang, slugify

# Newest article of every fixture site is published at this moment (local
# time of the site); fixed so URLs and bodies are identical on every run.
DEFAULT_ANCHOR = datetime(2026, 11, 27, 9, 30, tzinfo=timezone.utc)

HTML = "text/html; charset=utf-8"
RSS = "application/rss+xml; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"
XML = "application/xml; charset=utf-8"
TEXT = "text/plain; charset=utf-8"

# 1x1 transparent GIF: every <img> on the sites resolves to something real.
_GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
_CSS = b"body{font-family:sans-serif;margin:0}.container{display:flex}.sidebar{width:300px}.ad{background:#eee}\n"


@dataclass(frozen=True)
class Article:
    k: int  # position in publication order, 0 = oldest
    number: int  # the site's own article id
    section: str
    title: str
    summary: str
    author: str
    published: datetime
    path: str  # percent-encoded URL path
    charset: str = "utf-8"
    public: bool = True  # False: sits under a robots.txt Disallow
    fresh: bool = False  # added by publish() while the universe runs


@dataclass(frozen=True)
class Request:
    path: str  # as sent, percent-encoded, without query
    query: str
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def params(self) -> dict[str, list[str]]:
        return parse_qs(self.query)


@dataclass(frozen=True)
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = HTML
    headers: tuple[tuple[str, str], ...] = ()
    # Set on pages that are the same bytes until something changes: the
    # server then adds ETag/Last-Modified and answers conditional requests.
    cacheable: bool = False
    last_modified: datetime | None = None


def text_response(text: str, content_type: str, *, changed: datetime | None, charset: str = "utf-8") -> Response:
    return Response(200, text.encode(charset, "xmlcharrefreplace"), content_type, cacheable=True, last_modified=changed)


def redirect(location: str, status: int = 301) -> Response:
    return Response(status, b"", HTML, (("Location", location),))


Handler = Callable[[Request], Response]
_CACHE_LIMIT = 512


class NewsSite:
    """A news site with a growing list of articles and its listings.

    Subclasses set the class attributes, implement ``article_path`` and
    ``source_entry``, register listing routes in ``setup`` and say in
    ``listed`` which articles their entry-point listings reach."""

    layout = "semantic"
    section_keys: tuple[str, ...] = ()
    # (MIME type, path, title) announced by <link rel="alternate"> on the homepage.
    announced_feeds: tuple[tuple[str, str, str], ...] = ()
    homepage_count = 10
    # Cache pattern-route answers too (only for sites whose dynamic pages are finite).
    cache_dynamic = False

    def __init__(
        self,
        name: str,
        lang: Lang,
        *,
        title: str,
        count: int,
        first_number: int,
        spacing: timedelta,
        anchor: datetime = DEFAULT_ANCHOR,
        latency_s: float = 0.0,
        seed: str = "",
    ) -> None:
        self.name = name
        # Every random.Random here is seeded from this, so text depends only
        # on (site, seed, article number).
        self._key = f"{name}{seed}"
        self.lang = lang
        self.language = lang.code
        self.title = title
        self.latency_s = latency_s
        self._base_url = ""
        self._first_number = first_number
        self._lock = threading.Lock()
        self._routes: dict[str, tuple[Handler, bool]] = {}
        self._cache: dict[tuple[int, str, str], Response] = {}
        self._version = 0
        anchor = anchor.astimezone(lang.tz)
        # Jitter stays below the spacing so k order is also date order.
        jitter = max(0, int(spacing.total_seconds() // 120))
        self._articles: tuple[Article, ...] = tuple(
            self._make(k, anchor - spacing * (count - 1 - k) - timedelta(minutes=random.Random(f"{self._key}:{k}:t").randint(0, jitter)))
            for k in range(count)
        )
        self._initial = count
        # Articles outside the numbered sequence (e.g. a private draft).
        self._extra: tuple[Article, ...] = ()
        self._by_path = {unquote(a.path): a for a in self._articles}
        if len(self._by_path) != len(self._articles):
            raise ValueError(f"site {name!r}: two articles share a URL path")
        self._changed = (self._articles[-1].published if self._articles else anchor).replace(microsecond=0)
        self.route("/", self.homepage_response)
        self.route("/robots.txt", lambda request: text_response(self.robots_txt(), TEXT, changed=self._changed))
        for key in self.section_keys:
            self.route(self.section_path(key), lambda request, key=key: self.section_response(key, request))
        self.setup()

    # -- to specialise -------------------------------------------------------

    def article_path(self, number: int, section: str, published: datetime, slug: str, title: str) -> str:
        raise NotImplementedError

    def section_path(self, key: str) -> str:
        return f"/{key}/"

    def setup(self) -> None:
        """Register listing routes (``self.route``) beyond homepage, robots.txt and sections."""

    def robots_txt(self) -> str:
        return "User-agent: *\nDisallow: /search\n"

    def section_articles(self, key: str) -> list[Article]:
        return self.newest(15, section=key)

    def section_response(self, key: str, request: Request) -> Response:
        return self.listing_page(self.lang.sections[key], self.section_articles(key))

    def listed(self) -> Iterable[Article]:
        """Articles linked from the listings a crawler starting at
        ``source_entry()`` reads (including the ones it must discover)."""
        return self.articles

    def source_entry(self) -> dict[str, Any]:
        raise NotImplementedError

    def fault(self, request: Request) -> Response | None:
        """A misbehaviour for this request, before normal routing."""
        return None

    def dynamic(self, request: Request) -> Response | None:
        """Pattern routes (archives, paged sitemaps); None -> 404."""
        return None

    def article_charset(self, k: int) -> str:
        return "utf-8"

    # -- public API ----------------------------------------------------------

    @property
    def rng_key(self) -> str:
        return self._key

    @property
    def base_url(self) -> str:
        """``http://127.0.0.N:PORT`` while served, "" before."""
        return self._base_url

    @base_url.setter
    def base_url(self, value: str) -> None:
        with self._lock:
            self._base_url = value.rstrip("/")
            self._cache = {}  # feeds and sitemaps embed absolute URLs

    @property
    def homepage(self) -> str:
        return self.url("/")

    @property
    def articles(self) -> tuple[Article, ...]:
        """Published numbered articles, oldest first (a consistent snapshot)."""
        return self._articles

    def url(self, path: str) -> str:
        if not self.base_url:
            raise RuntimeError(f"site {self.name!r} is not being served yet (start the Universe first)")
        return self.base_url + path

    def expected_article_urls(self) -> set[str]:
        return {self.url(a.path) for a in self.listed() if a.public}

    def all_article_urls(self) -> set[str]:
        """Every URL answering with an article page, reachable or not
        (private and unlisted ones included)."""
        return {self.url(a.path) for a in (*self.articles, *self._extra)}

    def publish(self, count: int = 1) -> list[str]:
        if count < 1:
            raise ValueError("count must be >= 1")
        with self._lock:
            now = datetime.now(self.lang.tz).replace(microsecond=0)
            last = self._articles[-1].published if self._articles else now
            new = []
            for i in range(count):
                last = max(now, last + timedelta(seconds=1))
                new.append(replace(self._make(len(self._articles) + i, last), fresh=True))
            by_path = dict(self._by_path)
            by_path.update((unquote(a.path), a) for a in new)
            # Strictly later, whole seconds: If-Modified-Since has 1 s resolution.
            self._changed = max(now, self._changed + timedelta(seconds=1))
            self._by_path = by_path
            self._articles = self._articles + tuple(new)
            self._version += 1
            self._cache = {}
        return [self.url(a.path) for a in new]

    def reset_faults(self) -> None:
        """Re-arm one-shot faults (sites that have some override this)."""

    # -- helpers for subclasses ----------------------------------------------

    def newest(self, n: int | None = None, *, section: str | None = None) -> list[Article]:
        picked = [a for a in reversed(self.articles) if section is None or a.section == section]
        return picked if n is None else picked[:n]

    def route(self, path: str, handler: Handler, *, cache: bool = True) -> None:
        self._routes[path] = (handler, cache)

    def feed_item(self, article: Article, query: str = "") -> feeds.FeedItem:
        url = self.url(article.path) + (f"?{query}" if query else "")
        return feeds.FeedItem(
            title=article.title, url=url, published=article.published, summary=article.summary,
            guid=f"{self.name}-{article.number}", category=self.lang.sections[article.section], author=article.author,
        )

    def rss_response(self, path: str, items: Iterable[feeds.FeedItem]) -> Response:
        xml = feeds.rss(title=self.title, home=self.homepage, self_url=self.url(path), language=self.language,
                        updated=self._changed, items=items)
        return text_response(xml, RSS, changed=self._changed)

    def atom_response(self, path: str, items: Iterable[feeds.FeedItem]) -> Response:
        xml = feeds.atom(title=self.title, home=self.homepage, self_url=self.url(path), language=self.language,
                         updated=self._changed, items=items)
        return text_response(xml, ATOM, changed=self._changed)

    def xml_response(self, xml: str, *, gzipped: bool = False) -> Response:
        if gzipped:
            # mtime=0: same bytes every time, so the ETag is stable. Served as a
            # file (no Content-Encoding), the way sites serve .xml.gz sitemaps.
            body = gzip.compress(xml.encode(), mtime=0)
            return Response(200, body, "application/x-gzip", cacheable=True, last_modified=self._changed)
        return text_response(xml, XML, changed=self._changed)

    def news_sitemap_response(self, articles: Iterable[Article]) -> Response:
        return self.xml_response(
            feeds.news_urlset(publication=self.title, language=self.language, items=(self.feed_item(a) for a in articles))
        )

    def html_page(self, *, title: str, main: str, head: str = "", most_read: list[Article] | None = None,
                  sidebar_extra: str = "", charset: str = "utf-8", changed: datetime | None = None) -> Response:
        side = render.sidebar(self, most_read if most_read is not None else self._most_read(None), sidebar_extra)
        html = render.page(self, title=title, head=head, main=main, sidebar=side, charset=charset)
        content_type = f"text/html; charset={charset}"
        return text_response(html, content_type, changed=changed or self._changed, charset=charset)

    def listing_page(self, heading: str, articles: list[Article], *, head: str = "", extra: str = "",
                     sidebar_extra: str = "") -> Response:
        return self.html_page(title=f"{heading} | {self.title}", head=head,
                              main=render.listing_main(self, heading, articles, extra), sidebar_extra=sidebar_extra)

    def homepage_response(self, request: Request) -> Response:
        head = "".join(
            f'<link rel="alternate" type="{mime}" title="{title}" href="{path}">'
            for mime, path, title in self.announced_feeds
        )
        return self.listing_page(self.lang.labels["latest"], self.newest(self.homepage_count), head=head)

    def error_response(self, status: int, message: str) -> Response:
        html = render.page(self, title=message, head="", main=render.simple_main(message, str(status)),
                           sidebar=render.sidebar(self, self._most_read(None)))
        return Response(status, html.encode(), HTML)

    # -- request handling ----------------------------------------------------

    def handle(self, request: Request) -> Response:
        faulty = self.fault(request)
        if faulty is not None:
            return faulty
        path = unquote(request.path)
        found = self._routes.get(path)
        if found is not None:
            handler, cache = found
            if not cache:
                return handler(request)
            # Route handlers always answer; the fallback only satisfies the type.
            return self._cached(path, request, handler) or self.error_response(404, self.lang.labels["not_found"])
        article = self._by_path.get(path)
        if article is not None:
            return self.article_response(article)
        if path.startswith("/static/"):
            if path.endswith(".css"):
                return Response(200, _CSS, "text/css", cacheable=True, last_modified=self._changed)
            return Response(200, _GIF, "image/gif", cacheable=True, last_modified=self._changed)
        if path in ("/about", "/contact", "/privacy"):
            label = self.lang.labels[path[1:]]
            return self.html_page(title=f"{label} | {self.title}",
                                  main=render.simple_main(label, self.lang.labels["static"]))
        dyn = self._cached(path, request, self.dynamic) if self.cache_dynamic else self.dynamic(request)
        return dyn if dyn is not None else self.error_response(404, self.lang.labels["not_found"])

    def _cached(self, path: str, request: Request, handler: Callable[[Request], Response | None]) -> Response | None:
        key = (self._version, path, request.query)
        found = self._cache.get(key)
        if found is None:
            found = handler(request)
            if found is not None:
                if len(self._cache) >= _CACHE_LIMIT:
                    # Random query strings on a listing URL must not grow memory.
                    self._cache = {}
                self._cache[key] = found
        return found

    def article_response(self, article: Article) -> Response:
        canonical = self.url(article.path)
        rng = random.Random(f"{self._key}:{article.number}:body")
        city = rng.choice(self.lang.cities)
        paragraphs = [self.body_paragraph(rng) for _ in range(rng.randint(3, 6))]
        paragraphs[0] = f"{city} — {paragraphs[0]}"
        main = render.article_main(self, article, paragraphs, self._related(article), canonical)
        return self.html_page(
            title=f"{article.title} | {self.title}", head=render.article_head(self, article, canonical), main=main,
            most_read=self._most_read(article), charset=article.charset, changed=article.published,
        )

    def body_paragraph(self, rng: random.Random) -> str:
        return self.lang.paragraph(rng)

    # -- internals -----------------------------------------------------------

    def _make(self, k: int, published: datetime) -> Article:
        number = self._first_number + k
        rng = random.Random(f"{self._key}:{number}")
        title = self.lang.headline_text(rng)
        section = self.section_keys[k % len(self.section_keys)]
        return Article(
            k=k, number=number, section=section, title=title, summary=self.lang.sentence(rng),
            author=rng.choice(self.lang.people), published=published.replace(microsecond=0),
            path=self.article_path(number, section, published, slugify(title, self.lang, rng), title),
            charset=self.article_charset(k),
        )

    def _most_read(self, article: Article | None) -> list[Article]:
        # Drawn from the initial articles only: pages stay byte-identical
        # (and 304-able) when new articles are published.
        pool = self._articles[: self._initial]
        if not pool:
            return []
        rng = random.Random(f"{self._key}:{article.number if article else 0}:most-read")
        picks = rng.sample(range(len(pool)), min(6, len(pool)))
        return [pool[i] for i in picks if article is None or pool[i].k != article.k][:5]

    def _related(self, article: Article) -> list[Article]:
        pool = self._articles[: self._initial]
        return [pool[k] for k in (article.k - 1, article.k - 2, article.k + 1) if 0 <= k < len(pool) and k != article.k]

"""A large, fault-free universe for the crawl benchmark.

Only article metadata (a few hundred bytes each) is kept; pages are rendered
per request from the article number, with the per-site chrome rendered once.
Sitemaps are paged oldest-first so publishing only ever touches the last page.
"""
from __future__ import annotations

import math
import random
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from deploy.universe import feeds, wording
from deploy.universe.lang import AR, EN, FR, Lang
from deploy.universe.server import Universe
from deploy.universe.sites import DEFAULT_ANCHOR, Article, NewsSite, Request, Response

URLSET_SIZE = 1000
FEED_SIZE = 50
# Generated sites live above the fixture universe's addresses (127.0.0.11..)
# so both can run in one crawl without sharing a host name.
GENERATED_FIRST_HOST = 101

_MONTH_ABBR = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def _ar_news(number: int, section: str, published: datetime, slug: str, title: str) -> str:
    return f"/ar/news/{published:%Y/%m/%d}/{number}-{slug}.html"


def _ar_story(number: int, section: str, published: datetime, slug: str, title: str) -> str:
    return f"/story/{published:%Y/%m/%d}/{quote(title.replace(' ', '-'), safe='-')}/{number}"


def _en(number: int, section: str, published: datetime, slug: str, title: str) -> str:
    # Unlike the fixture site the number is in the path: thousands of
    # headlines drawn from a small phrase set do repeat on the same day.
    return f"/{section}/{published:%Y}/{_MONTH_ABBR[published.month - 1]}/{published:%d}/{slug}-{number}"


def _fr(number: int, section: str, published: datetime, slug: str, title: str) -> str:
    return f"/{section}/{published:%Y/%m/%d}/{slug}-{number}"


# (suffix, language, layout, sections, path style): the fixture sites' looks, minus their faults.
STYLES: tuple[tuple[str, Lang, str, tuple[str, ...], Any], ...] = (
    ("ar", AR, "semantic", ("politics", "economy", "sport", "culture"), _ar_news),
    ("en", EN, "semantic", ("world", "business", "sport", "culture"), _en),
    ("fr", FR, "magazine", ("politique", "economie", "culture", "sport"), _fr),
    ("ar-portal", AR, "divsoup", ("politics", "economy", "sport", "culture"), _ar_story),
)


class GeneratedSite(NewsSite):
    cache_dynamic = True
    homepage_count = 20

    def __init__(self, index: int, count: int, seed: int, anchor: datetime = DEFAULT_ANCHOR) -> None:
        suffix, lang, layout, sections, path_style = STYLES[index % len(STYLES)]
        self.layout = layout
        self.section_keys = sections
        self._path_style = path_style
        self.announced_feeds = (("application/rss+xml", "/rss.xml", "RSS"),)
        # Two years of news whatever the size, at least 5 minutes apart.
        spacing = max(timedelta(minutes=5), timedelta(days=730) / max(count, 1))
        super().__init__(f"gen{index + 1:02d}-{suffix}", lang, title=f"{lang.labels['latest']} {index + 1}",
                         count=count, first_number=10_000 * (index + 1), spacing=spacing, anchor=anchor,
                         seed=f"/{seed}")

    def body_paragraph(self, rng: random.Random) -> str:
        # word by word: unrelated articles share no phrases (see wording.py)
        return wording.paragraph(self.lang, rng)

    def article_path(self, number: int, section: str, published: datetime, slug: str, title: str) -> str:
        return self._path_style(number, section, published, slug, title)

    def section_path(self, key: str) -> str:
        return f"/section/{key}"

    def setup(self) -> None:
        self.route("/rss.xml", lambda r: self.rss_response("/rss.xml", (self.feed_item(a) for a in self.newest(FEED_SIZE))))
        self.route("/sitemap.xml", lambda r: self.xml_response(feeds.sitemap_index(
            (self.url(f"/sitemaps/posts-{i}.xml"), self._lastmod(i)) for i in range(1, self._pages() + 1))))

    def _lastmod(self, i: int) -> datetime | None:
        page = self._page(i)
        return page[-1].published if page else None

    def _pages(self) -> int:
        return max(1, math.ceil(len(self.articles) / URLSET_SIZE))

    def _page(self, i: int) -> tuple[Article, ...]:
        return self.articles[(i - 1) * URLSET_SIZE: i * URLSET_SIZE] or self.articles[:0]

    def dynamic(self, request: Request) -> Response | None:
        prefix, suffix = "/sitemaps/posts-", ".xml"
        if not (request.path.startswith(prefix) and request.path.endswith(suffix)):
            return None
        number = request.path[len(prefix):-len(suffix)]
        if not number.isdigit() or not 1 <= int(number) <= self._pages():
            return None
        return self.xml_response(feeds.urlset((self.url(a.path), a.published) for a in self._page(int(number))))

    def robots_txt(self) -> str:
        return f"User-agent: *\nAllow: /\n\nSitemap: {self.url('/sitemap.xml')}\n"

    def source_entry(self) -> dict[str, Any]:
        return {"name": self.name, "homepage": self.homepage, "sitemaps": [self.url("/sitemap.xml")]}


def generated_sites(hosts: int = 20, articles: int = 10_000, seed: int = 1) -> list[GeneratedSite]:
    if hosts < 1 or articles < 0:
        raise ValueError("need hosts >= 1 and articles >= 0")
    base, extra = divmod(articles, hosts)
    return [GeneratedSite(i, base + (1 if i < extra else 0), seed) for i in range(hosts)]


def generated_universe(hosts: int = 20, articles: int = 10_000, seed: int = 1, *,
                       first_host: int = GENERATED_FIRST_HOST, port_base: int = 0) -> Universe:
    """``hosts`` sites sharing ``articles`` evenly, not started yet."""
    return Universe(generated_sites(hosts, articles, seed), first_host=first_host, port_base=port_base)

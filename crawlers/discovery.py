"""Finding article links: feeds, sitemaps, robots.txt and section pages.

Pure functions over response bodies, so they are testable without a crawl.
Each article link carries the hints its listing gave (title, date); the
extraction stage falls back to them when the page itself has none.
"""
from __future__ import annotations

import calendar
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal
from urllib.parse import parse_qsl, urljoin, urlsplit

import feedparser
from courlan import is_navigation_page, is_not_crawlable
import lxml.etree
from parsel import Selector
from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots

from ingest.dates import parse_iso_datetime


class DiscoveryError(ValueError):
    """A feed or sitemap body could not be read as one."""


@dataclass(frozen=True)
class Hints:
    title: str | None = None
    published_at: datetime | None = None


@dataclass(frozen=True)
class ArticleLink:
    url: str
    hints: Hints = Hints()


@dataclass(frozen=True)
class SitemapContent:
    kind: Literal["urlset", "sitemapindex"]
    articles: list[ArticleLink]
    sitemaps: list[str]


def _clean_text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    value = " ".join(value.split())
    return value or None


def _is_http(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


# -- feeds -----------------------------------------------------------------


def _struct_time_utc(value: time.struct_time | None) -> datetime | None:
    if value is None:
        return None
    # feedparser normalizes every date it understands to UTC struct_time
    return datetime.fromtimestamp(calendar.timegm(value), tz=timezone.utc)


def parse_feed(body: bytes, base_url: str, content_type: str | None = None) -> list[ArticleLink]:
    """Article links of an RSS/Atom/RDF feed, with title and date hints.

    Raises DiscoveryError when the body is not a feed at all (feedparser is
    lenient: a feed with recoverable errors still yields its entries)."""
    headers = {"content-location": base_url}
    if content_type:
        headers["content-type"] = content_type
    parsed = feedparser.parse(body, response_headers=headers)
    if not parsed.get("version") and not parsed.entries:
        reason = parsed.get("bozo_exception") or "no feed elements found"
        raise DiscoveryError(f"not a feed: {reason}")
    links: list[ArticleLink] = []
    for entry in parsed.entries:
        href = entry.get("link") or _first_alternate(entry.get("links") or [])
        if not href:
            continue
        url = urljoin(base_url, href.strip())
        if not _is_http(url):
            continue
        published = _struct_time_utc(entry.get("published_parsed") or entry.get("updated_parsed"))
        links.append(ArticleLink(url, Hints(title=_clean_text(entry.get("title")), published_at=published)))
    return links


def _first_alternate(links: Iterable[dict[str, Any]]) -> str | None:
    for link in links:
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            return link["href"]
    return None


# -- sitemaps --------------------------------------------------------------


# Sitemap dates are W3C datetimes, a profile of ISO 8601.
parse_w3c_datetime = parse_iso_datetime


class NewsSitemap(Sitemap):
    """Scrapy's Sitemap keeps only the direct text of each child of <url>;
    the Google News extension nests its title and date inside <news:news>,
    so lift those up (as ``news_title``/``news_publication_date``) first."""

    __slots__ = ()

    def _process_sitemap_element(self, elem: lxml.etree._Element) -> dict[str, Any] | None:
        news: dict[str, str] = {}
        for child in elem:
            if self._get_tag_name(child) != "news":
                continue
            for node in child.iter():
                name = self._get_tag_name(node)
                if name in ("title", "publication_date") and node.text and node.text.strip():
                    news[f"news_{name}"] = node.text.strip()
        entry = super()._process_sitemap_element(elem)
        if entry is not None:
            entry.pop("news", None)
            entry.update(news)
        return entry


GZIP_MAGIC = b"\x1f\x8b"


def sitemap_body(body: bytes, max_size: int = 0) -> bytes:
    """The XML of a sitemap, gunzipping ``.xml.gz`` files that the server
    sent without Content-Encoding (so Scrapy left them compressed)."""
    if body[:2] == GZIP_MAGIC:
        try:
            return gunzip(body, max_size=max_size)
        except (OSError, EOFError) as exc:
            raise DiscoveryError(f"broken gzip sitemap: {exc}") from exc
        except ValueError as exc:  # Scrapy's decompression size limit
            raise DiscoveryError(f"gzip sitemap too large: {exc}") from exc
    return body


def parse_sitemap(body: bytes, base_url: str, max_size: int = 0) -> SitemapContent:
    """Articles of a urlset (with date/title hints) or child sitemaps of a
    sitemap index. Raises DiscoveryError for anything else."""
    xml = sitemap_body(body, max_size=max_size)
    if not xml.strip():
        raise DiscoveryError("empty sitemap")
    try:
        sitemap = NewsSitemap(xml)
    except (lxml.etree.XMLSyntaxError, StopIteration) as exc:
        raise DiscoveryError(f"sitemap is not XML: {exc}") from exc
    if sitemap.type not in ("urlset", "sitemapindex"):
        raise DiscoveryError(f"not a sitemap: root element is <{sitemap.type}>")
    articles: list[ArticleLink] = []
    children: list[str] = []
    try:
        entries = list(sitemap)
    except lxml.etree.XMLSyntaxError as exc:
        raise DiscoveryError(f"sitemap is not XML: {exc}") from exc
    for entry in entries:
        url = urljoin(base_url, entry["loc"])
        if not _is_http(url):
            continue
        if sitemap.type == "sitemapindex":
            children.append(url)
            continue
        # news:publication_date is the publication date; lastmod only says
        # when the page last changed, so it is the weaker fallback
        published = parse_w3c_datetime(entry.get("news_publication_date")) or parse_w3c_datetime(entry.get("lastmod"))
        articles.append(ArticleLink(url, Hints(title=_clean_text(entry.get("news_title")), published_at=published)))
    return SitemapContent(kind=sitemap.type, articles=articles, sitemaps=children)  # type: ignore[arg-type]


def is_robots_url(url: str) -> bool:
    return urlsplit(url).path.rstrip("/").endswith("/robots.txt")


def sitemaps_in_robots(body: bytes, base_url: str) -> list[str]:
    """``Sitemap:`` lines of a robots.txt, as absolute http(s) URLs."""
    return [u for u in dict.fromkeys(sitemap_urls_from_robots(body, base_url=base_url)) if _is_http(u)]


# -- section pages ---------------------------------------------------------


def section_links(
    html: str | bytes,
    base_url: str,
    *,
    same_site: Any,
    pattern: re.Pattern[str] | None,
) -> Iterator[str]:
    """Absolute article links of a listing page: http(s), on the source's
    own hosts (``same_site(host) -> bool``), matching ``pattern`` if given,
    without fragments, each once, the page itself excluded."""
    text = html.decode("utf-8", "replace") if isinstance(html, bytes) else html
    selector = Selector(text=text, base_url=base_url)
    base_href = selector.css("base::attr(href)").get()
    root = urljoin(base_url, base_href) if base_href else base_url
    seen: set[str] = {base_url.split("#", 1)[0]}
    for href in selector.css("a::attr(href)").getall():
        url = urljoin(root, href.strip()).split("#", 1)[0]
        if url in seen or not _is_http(url):
            continue
        seen.add(url)
        if not same_site(urlsplit(url).hostname):
            continue
        if pattern is not None and not pattern.search(url):
            continue
        yield url


# -- homepages -------------------------------------------------------------

FEED_TYPES = frozenset({"application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/feed+json"})


def feeds_in_html(html: str | bytes, base_url: str) -> list[str]:
    """Feeds a page announces with ``<link rel="alternate" type=...>``.

    Written here rather than taken from trafilatura's feed finder because
    that one downloads pages itself: every request must go through Scrapy
    (robots.txt, politeness)."""
    text = html.decode("utf-8", "replace") if isinstance(html, bytes) else html
    selector = Selector(text=text, base_url=base_url)
    found: dict[str, None] = {}
    for link in selector.css("link[href]"):
        rel = (link.attrib.get("rel") or "").lower().split()
        kind = (link.attrib.get("type") or "").lower().split(";")[0].strip()
        if "alternate" in rel and kind in FEED_TYPES:
            url = urljoin(base_url, link.attrib["href"].strip())
            if _is_http(url):
                found[url] = None
    return list(found)


_PAGINATION_KEYS = frozenset({"page", "p", "pg", "paged", "start", "offset"})
# a calendar widget's links (?month=N+1 forever) lead to more calendar pages
_CALENDAR_KEYS = frozenset({"month", "year", "day", "date", "week", "cal"})
_DATE_TAIL = re.compile(r"/(19|20)\d{2}(/\d{1,2}){0,2}/?$")


def is_navigation_link(url: str) -> bool:
    """Listing-like links that a section page leads to but that are not
    articles: pagination, calendar archives, tag/category/author pages,
    login and search pages (courlan's rules, plus pagination parameters and
    date-only archive paths, which courlan lets through). Section links are
    followed one level deep only, so these are skipped, not crawled: that
    is how calendar and pagination traps stay closed."""
    parts = urlsplit(url)
    if parts.path in ("", "/"):
        return True
    if any(key.lower() in _PAGINATION_KEYS | _CALENDAR_KEYS for key, _ in parse_qsl(parts.query)):
        return True
    if "calendar" in parts.path.lower().split("/"):
        return True
    if _DATE_TAIL.search(parts.path):
        return True
    return bool(is_navigation_page(url) or is_not_crawlable(url))

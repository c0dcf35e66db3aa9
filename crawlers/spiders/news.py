"""The news spider: from each source's feeds, sitemaps and section pages to
one ``FetchedPage`` per article (or a ``DeadLetter`` saying why not).

It never stops on a bad page, feed or sitemap: every failure becomes a
dead-letter record and the crawl goes on.
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

import structlog
from scrapy import Request, Spider
from scrapy.http import Response
from twisted.python.failure import Failure

from ingest.models import DeadLetter, FetchedPage
from ingest.settings import Settings, get_settings

from crawlers.discovery import (
    ArticleLink,
    DiscoveryError,
    Hints,
    feeds_in_html,
    is_navigation_link,
    parse_feed,
    parse_sitemap,
    section_links,
    sitemaps_in_robots,
)
from crawlers.dupefilter import ARTICLE_META
from crawlers.records import Via, build_page, failure_record, is_html, not_html, page_or_too_large
from crawlers.sources import Source, listing_urls, load_sources

ListingKind = str  # "feed" | "sitemap" | "section" | "homepage" | "robots"

log = structlog.get_logger(__name__)

Record = FetchedPage | DeadLetter
# on a listing request: a sitemap named by another sitemap
FOUND_IN_SITEMAP_META = "rasd_found_in_sitemap"
# on a listing response: links it named beyond crawl_max_links_per_listing
LINKS_DROPPED_META = "rasd_links_dropped"


def _content_type(response: Response) -> str | None:
    value = response.headers.get(b"Content-Type")
    return value.decode("latin-1") if value else None


class NewsSpider(Spider):
    name = "news"
    rasd: Settings
    sources_by_name: dict[str, Source]

    def __init__(self, sources: list[Source] | str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # `scrapy crawl news -a sources=path.yaml` passes a path
        if isinstance(sources, str):
            sources = load_sources(sources)
        self.sources: list[Source] = list(sources or [])

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> NewsSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.rasd = crawler.settings.get("RASD_SETTINGS") or get_settings()
        if not spider.sources and spider.rasd.sources_file:
            spider.sources = load_sources(spider.rasd.sources_file)
        if not spider.sources:
            raise ValueError("NewsSpider needs sources: pass sources=[...] or set RASD_SOURCES_FILE")
        spider.sources_by_name = {s.name: s for s in spider.sources}
        return spider

    # -- requests -------------------------------------------------------------

    def _meta(self, source: Source, via: Via | None = None, **extra: Any) -> dict[str, Any]:
        meta: dict[str, Any] = {"rasd_source": source.name, **extra}
        if via:
            meta["rasd_via"] = via
        if source.download_delay_s is not None:
            # a site's own delay is a fixed politeness promise: keep
            # AutoThrottle from lowering it to the global floor
            meta["autothrottle_dont_adjust_delay"] = True
        return meta

    def _source(self, response: Response) -> Source:
        return self.sources_by_name[response.meta["rasd_source"]]

    def article_request(self, source: Source, link: ArticleLink, via: Via) -> Request:
        return Request(
            link.url,
            callback=self.parse_article,
            errback=self.article_failed,
            meta=self._meta(source, via, **{ARTICLE_META: True, "rasd_hints": link.hints}),
        )

    async def start(self) -> AsyncIterator[Request]:
        for request in self.start_requests_for(self.sources):
            yield request

    def start_requests_for(self, sources: Iterable[Source]) -> Iterator[Request]:
        for source in sources:
            for kind, url in listing_urls(source):
                yield self.listing_request(source, kind, url)

    def listing_request(self, source: Source, kind: ListingKind, url: str, **meta: Any) -> Request:
        callback = {
            "feed": self.parse_feed,
            "sitemap": self.parse_sitemap,
            "robots": self.parse_robots,
            "section": self.parse_section,
            "homepage": self.parse_homepage,
        }[kind]
        return Request(
            url, callback=callback, errback=self.listing_failed, meta=self._meta(source, listing=kind, **meta)
        )

    # -- what listings lead to (a one-pass crawl requests it at once) ------------

    def on_articles(self, source: Source, links: list[ArticleLink], via: Via, response: Response) -> Iterator[Request | Record]:
        for link in links:
            yield self.article_request(source, link, via)

    def on_listings(self, source: Source, kind: ListingKind, urls: list[str], response: Response) -> Iterator[Request | Record]:
        meta = {FOUND_IN_SITEMAP_META: True} if response.meta.get("listing") == "sitemap" else {}
        for url in urls:
            yield self.listing_request(source, kind, url, **meta)

    def listing_parsed(self, response: Response, links: int) -> Iterator[Record]:
        """Hook: a listing was read (``links`` found). Nothing to do in one pass."""
        return iter(())

    # -- listings -------------------------------------------------------------

    def _listing_unreadable(self, response: Response, exc: Exception) -> DeadLetter:
        what = response.meta["listing"]
        log.warning("listing_unreadable", listing=what, url=response.url, source=response.meta.get("rasd_source"),
                    error=str(exc))
        self.crawler.stats.inc_value(f"rasd/listings_unreadable/{what}")
        return DeadLetter(
            stage="crawl",
            reason="undecodable",
            detail=f"{what} could not be parsed: {exc}"[:2000],
            url=response.url,
            http_status=response.status,
            source=response.meta["rasd_source"],
        )

    async def parse_feed(self, response: Response) -> AsyncIterator[Request | Record]:
        source = self._source(response)
        try:
            # feedparser is pure Python: a feed of tens of thousands of
            # entries takes seconds, which on Scrapy's thread would stall
            # every download in flight (and time them out)
            links = await asyncio.to_thread(parse_feed, response.body, response.url, _content_type(response))
        except DiscoveryError as exc:
            yield self._listing_unreadable(response, exc)
            return
        links = self._capped(response, links)
        self.crawler.stats.inc_value("rasd/links/feed", len(links))
        for item in [*self.on_articles(source, links, "feed", response), *self.listing_parsed(response, len(links))]:
            yield item

    def parse_robots(self, response: Response) -> Iterator[Request | Record]:
        source = self._source(response)
        urls = sitemaps_in_robots(response.body, response.url) if response.status == 200 else []
        if not urls:
            log.info("robots_without_sitemaps", url=response.url, status=response.status)
        yield from self.on_listings(source, "sitemap", urls, response)
        yield from self.listing_parsed(response, len(urls))

    async def parse_sitemap(self, response: Response) -> AsyncIterator[Request | Record]:
        source = self._source(response)
        try:
            # off Scrapy's thread too: 50,000 entries are a second of Python
            content = await asyncio.to_thread(
                parse_sitemap, response.body, response.url, max_size=self.rasd.crawl_max_page_bytes
            )
        except DiscoveryError as exc:
            yield self._listing_unreadable(response, exc)
            return
        if content.kind == "sitemapindex" and response.meta.get(FOUND_IN_SITEMAP_META):
            # the protocol allows one level of index; deeper ones are how a
            # site (or a trap) makes an endless chain of listings
            yield self._listing_unreadable(
                response, DiscoveryError("a sitemap index named by another sitemap index: its sitemaps are not followed")
            )
            return
        sitemaps = self._capped(response, content.sitemaps)
        articles = self._capped(response, content.articles)
        self.crawler.stats.inc_value("rasd/links/sitemap", len(articles))
        for item in [
            *self.on_listings(source, "sitemap", sitemaps, response),
            *self.on_articles(source, articles, "sitemap", response),
            *self.listing_parsed(response, len(articles) + len(sitemaps)),
        ]:
            yield item

    def _capped(self, response: Response, links: list[Any]) -> list[Any]:
        """At most crawl_max_links_per_listing of ``links`` (the first
        ones: feeds and sitemaps list the newest first); the cut is logged,
        counted and left on the response for the listing's status."""
        cap = self.rasd.crawl_max_links_per_listing
        if len(links) <= cap:
            return links
        dropped = len(links) - cap
        response.meta[LINKS_DROPPED_META] = response.meta.get(LINKS_DROPPED_META, 0) + dropped
        what = response.meta.get("listing", "listing")
        self.crawler.stats.inc_value(f"rasd/links_dropped/{what}", dropped)
        log.warning("listing_truncated", listing=what, url=response.url, links=len(links), kept=cap)
        return links[:cap]

    def parse_section(self, response: Response) -> Iterator[Request | Record]:
        source = self._source(response)
        if not is_html(_content_type(response), response):
            yield self._listing_unreadable(response, ValueError(f"{response.meta['listing']} page is not HTML"))
            return
        links = self._section_articles(source, response)
        self.crawler.stats.inc_value("rasd/links/section", len(links))
        yield from self.on_articles(source, links, "section", response)
        yield from self.listing_parsed(response, len(links))

    def parse_homepage(self, response: Response) -> Iterator[Request | Record]:
        """A front page: its article links, and the feeds it announces."""
        source = self._source(response)
        if not is_html(_content_type(response), response):
            yield self._listing_unreadable(response, ValueError("homepage is not HTML"))
            return
        feeds = [u for u in feeds_in_html(response.text, response.url) if u not in source.feeds]
        if feeds:
            log.info("feeds_discovered", source=source.name, feeds=feeds)
        self.crawler.stats.inc_value("rasd/discovered/feeds", len(feeds))
        yield from self.on_listings(source, "feed", feeds, response)
        links = self._section_articles(source, response)
        self.crawler.stats.inc_value("rasd/links/section", len(links))
        yield from self.on_articles(source, links, "section", response)
        yield from self.listing_parsed(response, len(links) + len(feeds))

    def _section_articles(self, source: Source, response: Response) -> list[ArticleLink]:
        pattern = source.article_regex()
        listings = {source.homepage, *source.feeds, *source.sitemaps, *source.sections}
        urls = section_links(response.text, response.url, same_site=source.owns_host, pattern=pattern)
        # without a pattern, navigation links (pagination, calendars, tags)
        # are not articles: following them is how crawlers fall into traps
        return [
            ArticleLink(u) for u in urls if u not in listings and (pattern is not None or not is_navigation_link(u))
        ]

    def listing_failed(self, failure: Failure) -> Iterator[DeadLetter]:
        request: Request = failure.request  # type: ignore[attr-defined]
        what = request.meta.get("listing", "listing")
        record = failure_record(failure, request.url, source=request.meta["rasd_source"], what=what)
        if record is not None:
            log.warning("listing_failed", listing=what, url=request.url, source=record.source, reason=record.reason,
                        detail=record.detail)
            yield record

    # -- articles -------------------------------------------------------------

    def parse_article(self, response: Response) -> Iterator[Record]:
        source = response.meta["rasd_source"]
        if not is_html(_content_type(response), response):
            yield not_html(response, source=source)
            return
        hints: Hints = response.meta.get("rasd_hints") or Hints()
        page = build_page(response, source=source, via=response.meta.get("rasd_via", "seed"), hints=hints)
        yield page_or_too_large(page, self.rasd.kafka_max_message_bytes)

    def article_failed(self, failure: Failure) -> Iterator[DeadLetter]:
        request: Request = failure.request  # type: ignore[attr-defined]
        record = failure_record(failure, request.url, source=request.meta["rasd_source"])
        if record is not None:
            yield record

"""Redirects to articles the crawl already has are not followed.

A feed may list ``/story/123`` that redirects to an article the crawl
fetched (or is about to fetch) under its own URL: following it would fetch
that article twice. Which article a link leads to is only known from the
redirect, so the check happens here, before Scrapy's RedirectMiddleware
(this middleware's number is higher, so it sees the response first). It
only acts in a continuous crawl, where the frontier knows what was fetched;
a one-pass crawl has the canonical-URL dupefilter for the same job."""
from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urljoin

import structlog
from scrapy import Request
from scrapy.http import Response

from ingest.identity import canonical_url, document_id

from crawlers.dupefilter import ARTICLE_META
from crawlers.politeness import Dropped

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler

log = structlog.get_logger(__name__)

REDIRECTS = frozenset({301, 302, 303, 307, 308})


class KnownArticles(Protocol):
    def has_article(self, status_id: str) -> bool:
        """Fetched already, or being fetched by this process (blocking call)."""
        ...


class AlreadyHave(Dropped):
    """The redirect leads to an article the crawl already has."""

    def __init__(self, message: str, target: str) -> None:
        super().__init__(message)
        self.target = target


class KnownRedirectTargetMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    async def process_response(self, request: Request, response: Response) -> Response:
        known: KnownArticles | None = getattr(self.crawler.spider, "known_articles", None)
        if known is None or response.status not in REDIRECTS or not request.meta.get(ARTICLE_META):
            return response
        location = response.headers.get(b"Location")
        if not location:
            return response
        target = urljoin(request.url, location.decode("latin-1"))
        try:
            key = canonical_url(target)
        except ValueError:
            return response
        chain = {canonical_url(u) for u in (*request.meta.get("redirect_urls", ()), request.url)}
        if key in chain:
            # back to itself: a loop (RedirectMiddleware's limit turns it into a
            # dead letter) or a redirect that only drops tracking parameters
            return response
        # the lookup may take a round trip to the status index: off Scrapy's thread
        if await asyncio.to_thread(known.has_article, document_id(key)):
            self.crawler.stats.inc_value("rasd/redirects_to_known_articles")
            raise AlreadyHave(f"{request.url} redirects to {target}, already fetched", target)
        return response

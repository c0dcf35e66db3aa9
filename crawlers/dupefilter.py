"""One fetch per article per crawl, whatever the route to it.

A feed may list ``/a?utm_source=rss`` while the sitemap lists ``/a``, and a
feed link may redirect to the sitemap's URL. Scrapy's own filter sees three
different requests; this one keys article requests by the canonical URL the
rest of Rasd uses for document identity, and since Scrapy sends redirect
targets back through the scheduler, a redirect that lands on an article
already seen is filtered too.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy import Request
from scrapy.dupefilters import RFPDupeFilter

from ingest.identity import canonical_url

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

# request.meta flag set by the spider on article requests
ARTICLE_META = "rasd_article"


def _canonical(url: str) -> str:
    try:
        return canonical_url(url)
    except ValueError:
        return url


class CanonicalUrlDupeFilter(RFPDupeFilter):
    stats: StatsCollector | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        dupefilter = super().from_crawler(crawler)
        dupefilter.stats = crawler.stats
        return dupefilter

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self._articles: set[str] = set()

    def request_seen(self, request: Request) -> bool:
        if not request.meta.get(ARTICLE_META):
            return super().request_seen(request)
        key = _canonical(request.url)
        # a redirect that only drops tracking parameters leads to the same
        # canonical URL as its own origin: that is not a duplicate
        own_origins = {_canonical(u) for u in request.meta.get("redirect_urls", ())}
        if key in self._articles and key not in own_origins:
            if self.stats is not None:
                self.stats.inc_value("rasd/duplicate_articles")
            return True
        self._articles.add(key)
        return False

"""robots.txt that stays current in a crawl that runs for months.

Scrapy's RobotsTxtMiddleware reads each site's robots.txt once per process
and keeps it forever; a continuous crawl must notice when a site changes its
rules or its Crawl-delay. This subclass forgets a site's parsed robots.txt
after ``RASD_ROBOTS_TTL_S`` so the next request reads it again.

It also never remembers a robots.txt download that this process itself
refused (IgnoreRequest from the politeness gate: the host belongs to another
crawler process, or the crawl is stopping). Scrapy would keep "no robots.txt"
for the host from then on, so once the host became this process's, its
disallowed paths would be fetched and its Crawl-delay ignored."""
from __future__ import annotations

import time
from typing import TYPE_CHECKING

from scrapy import Request
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred

from crawlers.metrics import ROBOTS_REFUSED, source_of

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.robotstxt import RobotParser


class ExpiringRobotsTxtMiddleware(RobotsTxtMiddleware):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.ttl_s = crawler.settings.getfloat("RASD_ROBOTS_TTL_S", 86_400.0)
        self._read_at: dict[str, float] = {}
        self._refused: set[str] = set()

    async def robot_parser(self, request: Request) -> RobotParser | None:
        netloc = urlparse_cached(request).netloc
        now = time.monotonic()
        read_at = self._read_at.get(netloc)
        if read_at is None:
            self._read_at[netloc] = now
        elif now - read_at > self.ttl_s and not isinstance(self._parsers.get(netloc), Deferred):
            # Scrapy keeps parsed files in this dict; dropping the entry makes
            # it download the file again (a download in progress is left alone)
            self._parsers.pop(netloc, None)
            self._read_at[netloc] = now
        parser = await super().robot_parser(request)
        if netloc in self._refused:
            # refused here, not answered by the site: read it again next time
            self._refused.discard(netloc)
            self._parsers.pop(netloc, None)
            self._read_at.pop(netloc, None)
        return parser

    def process_request_2(self, rp: RobotParser | None, request: Request) -> None:
        try:
            super().process_request_2(rp, request)
        except IgnoreRequest:
            ROBOTS_REFUSED.labels(source_of(request)).inc()
            raise

    def _robots_error(self, exc: Exception, netloc: str) -> None:
        super()._robots_error(exc, netloc)  # requests waiting on it go on (the gate decides them)
        if isinstance(exc, IgnoreRequest):
            self._refused.add(netloc)

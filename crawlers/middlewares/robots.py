"""robots.txt that stays current in a crawl that runs for months.

Scrapy's RobotsTxtMiddleware reads each site's robots.txt once per process
and keeps it forever; a continuous crawl must notice when a site changes its
rules or its Crawl-delay. This subclass forgets a site's parsed robots.txt
after ``RASD_ROBOTS_TTL_S`` so the next request reads it again.

A robots.txt that answers 5xx or cannot be read at all (timeout, refused
connection, TLS or DNS failure, after Scrapy's retries) means "unreachable"
in RFC 9309 (2.3.1.4), and Google does the same: assume complete disallow
for a while. Scrapy would instead crawl the whole site as if it had no
robots.txt. Here the site's requests are refused with ``RobotsUnavailable``
(a passing failure: a dead letter, and the URL is tried again later) until
robots.txt is read again after ``RASD_ROBOTS_RETRY_S``. A 4xx still means
"no robots.txt", everything allowed, as both say.

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
from scrapy.http import Response
from scrapy.utils.httpobj import urlparse_cached
import structlog
from twisted.internet.defer import Deferred

from crawlers.metrics import ROBOTS_REFUSED, source_of

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.robotstxt import RobotParser

log = structlog.get_logger(__name__)


class RobotsUnavailable(IgnoreRequest):
    """Not fetched: the site's robots.txt could not be read (5xx, timeout,
    network). Temporary, unlike a refusal by the rules themselves."""


class Unavailable:
    """Stands in for the parsed robots.txt of a site whose file could not
    be read: nothing is allowed."""

    def __init__(self, why: str) -> None:
        self.why = why

    def allowed(self, url: str, user_agent: str) -> bool:
        return False

    def crawl_delay(self, user_agent: str) -> None:
        return None


class ExpiringRobotsTxtMiddleware(RobotsTxtMiddleware):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.ttl_s = crawler.settings.getfloat("RASD_ROBOTS_TTL_S", 86_400.0)
        self.retry_s = crawler.settings.getfloat("RASD_ROBOTS_RETRY_S", 300.0)
        self._read_at: dict[str, float] = {}
        self._refused: set[str] = set()

    async def robot_parser(self, request: Request) -> RobotParser | None:
        netloc = urlparse_cached(request).netloc
        now = time.monotonic()
        read_at = self._read_at.get(netloc)
        ttl = self.retry_s if isinstance(self._parsers.get(netloc), Unavailable) else self.ttl_s
        if read_at is None:
            self._read_at[netloc] = now
        elif now - read_at > ttl and not isinstance(self._parsers.get(netloc), Deferred):
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
        if isinstance(rp, Unavailable):
            self._stats.inc_value("rasd/robots_unavailable_refused")
            raise RobotsUnavailable(
                f"not fetched: robots.txt unavailable ({rp.why}); the site counts as disallowing everything "
                "until its robots.txt is read again"
            )
        try:
            super().process_request_2(rp, request)
        except IgnoreRequest:
            ROBOTS_REFUSED.labels(source_of(request)).inc()
            raise

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        if response.status >= 500:
            self._stats.inc_value(f"robotstxt/response_status_count/{response.status}")
            self._unavailable(netloc, f"HTTP {response.status}")
            return
        await super()._parse_robots(response, netloc, request)

    def _robots_error(self, exc: Exception, netloc: str) -> None:
        if isinstance(exc, IgnoreRequest):
            super()._robots_error(exc, netloc)  # requests waiting on it go on (the gate decides them)
            self._refused.add(netloc)
            return
        self._stats.inc_value(f"robotstxt/exception_count/{type(exc)}")
        self._unavailable(netloc, f"{type(exc).__name__}: {exc}"[:300])

    def _unavailable(self, netloc: str, why: str) -> None:
        log.warning("robots_txt_unavailable", site=netloc, reason=why, retry_in_s=self.retry_s)
        parser = Unavailable(why)
        waiting = self._parsers.get(netloc)
        self._parsers[netloc] = parser  # type: ignore[assignment]
        self._read_at[netloc] = time.monotonic()
        if isinstance(waiting, Deferred):
            waiting.callback(parser)

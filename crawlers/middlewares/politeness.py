"""Politeness for every request, as a downloader middleware placed last
before the download (so it sees each retry and redirect as a new request,
and each raw response before the retry middleware).

A request waits here until its host allows it (``crawlers.politeness``):
delay floor, per-host concurrency, Retry-After, error backoff. Only
requests of the waiting host wait: other hosts go on. When the process
crawls continuously, a request for a host this process no longer owns is
dropped here (its new owner fetches it)."""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

import structlog
from scrapy import Request, signals
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response

from crawlers.frontier.ownership import host_partition
from crawlers.politeness import HostPolicy, NotOwned, Stopping, Unwanted
from ingest.dates import parse_retry_after

__all__ = ["NotOwned", "PolitenessMiddleware", "Stopping"]

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.robotstxt import RobotParser

log = structlog.get_logger(__name__)

GATE_META = "rasd_gate_host"
OVERLOAD_STATUSES = frozenset({429, 503})


class HostOwnership(Protocol):
    partitions: int

    def owns(self, host: str) -> bool: ...


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def site_of(url: str) -> str:
    """What politeness is kept for: host and port, the scope of a robots.txt
    (two servers on one host name but different ports are two sites)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{host}:{port}" if host and port else host


def _hostname(site: str) -> str:
    return urlsplit(f"//{site}").hostname or site


class PolitenessMiddleware:
    def __init__(self, crawler: Crawler, policy: HostPolicy) -> None:
        self.crawler = crawler
        self.policy = policy
        self.user_agent: str = crawler.settings.get("USER_AGENT") or "*"
        # per-host delay/concurrency from the sources (``download_slots``);
        # a continuous spider replaces it when the sources file changes
        self.host_policies: dict[str, dict[str, Any]] = {}
        # set by a continuous spider: which hosts this process may fetch from
        self.ownership: HostOwnership | None = None
        # set by a continuous spider: False for requests of removed sources
        self.wanted: Callable[[Request], bool] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        rasd = settings.get("RASD_SETTINGS")
        default_delay = float(settings.getfloat("RASD_POLITENESS_DELAY", settings.getfloat("DOWNLOAD_DELAY")))
        default_concurrency = settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN", 1)
        backoff_max = rasd.crawl_error_backoff_max_s if rasd is not None else 3600.0
        mw: PolitenessMiddleware

        def delay_for(host: str) -> float:
            return max(default_delay, float(mw.host_policies.get(_hostname(host), {}).get("delay", 0.0)))

        def concurrency_for(host: str) -> int:
            return int(mw.host_policies.get(_hostname(host), {}).get("concurrency", default_concurrency))

        mw = cls(crawler, HostPolicy(delay_for, concurrency_for, backoff_max_s=backoff_max))
        mw.host_policies = settings.getdict("RASD_HOST_POLICIES")
        crawler.signals.connect(mw.robots_parsed, signal=signals.robots_parsed)
        crawler.politeness = mw  # type: ignore[attr-defined] - the spider finds it here
        return mw

    def quiet_in(self, partitions: set[int]) -> float:
        """Seconds until every host of these frontier partitions is past its
        delay with nothing in flight: a host is handed to another process
        only then, so its politeness holds across processes."""
        if self.ownership is None:
            return 0.0
        return max(
            (
                self.policy.quiet_in(host)
                for host in list(self.policy.hosts)
                if host_partition(_hostname(host), self.ownership.partitions) in partitions
            ),
            default=0.0,
        )

    def robots_parsed(self, robotparser: RobotParser, request: Request) -> None:
        delay = robotparser.crawl_delay(self.user_agent)
        if delay:
            host = site_of(request.url)
            self.policy.set_crawl_delay(host, float(delay))
            log.info("robots_crawl_delay", host=host, seconds=float(delay))

    async def process_request(self, request: Request) -> None:
        host = site_of(request.url)
        if not host:
            return
        while True:
            if not self.crawler.crawling:
                raise Stopping(f"crawl stopping while {request.url} waited for its host")
            if self.wanted is not None and not self.wanted(request):
                raise Unwanted(f"{request.url}: its source is no longer crawled")
            if self.ownership is not None and not self.ownership.owns(_hostname(host)):
                self.crawler.stats.inc_value("rasd/not_owned_dropped")
                raise NotOwned(f"host {host} is owned by another crawler process")
            wait = self.policy.try_start(host)
            if wait <= 0:
                break
            # short naps so a shutdown or a lost ownership is noticed
            await asyncio.sleep(min(wait, 0.5))
        request.meta[GATE_META] = host

    def _finish(self, request: Request, *, failed: bool, retry_after_s: float | None = None) -> None:
        host = request.meta.pop(GATE_META, None)
        if host is None:
            return
        hold = self.policy.finish(host, failed=failed, retry_after_s=retry_after_s)
        if hold:
            self.crawler.stats.inc_value("rasd/host_holds")
            log.info("host_hold", host=host, seconds=round(hold, 2), retry_after=retry_after_s is not None)

    def process_response(self, request: Request, response: Response) -> Response:
        failed = response.status in OVERLOAD_STATUSES or response.status >= 500
        retry_after = parse_retry_after(response.headers.get(b"Retry-After")) if failed else None
        self._finish(request, failed=failed, retry_after_s=retry_after)
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        self._finish(request, failed=not isinstance(exception, IgnoreRequest))
        return None

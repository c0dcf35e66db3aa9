"""The crawl's Prometheus metrics, and the Scrapy extension that serves them.

The crawl runs in a child process (``crawlers.run``): the child is where the
pages are fetched, so the child serves ``/metrics``, ``/healthz`` and ``/readyz`` on
``metrics_port`` (the ``rasd crawl`` parent only waits for it and serves
nothing). Liveness ticks from Twisted's reactor every second, and only while
the frontier thread of a continuous crawl also turns: a blocked reactor or a
frontier stuck in Kafka or the engine turns /healthz 503.
Labels are source names (bounded by the sources file) and HTTP statuses."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import structlog
from prometheus_client import Counter
from scrapy import Request, signals
from scrapy.http import Response
from twisted.internet import task

from ingest.observability import MetricsServer, Observed, start_observing
from ingest.settings import Settings, get_settings

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

log = structlog.get_logger(__name__)

PAGES = Counter("rasd_crawl_pages", "Responses received, by source and HTTP status", ["source", "status"])
BYTES = Counter("rasd_crawl_bytes", "Response body bytes received, by source", ["source"])
ROBOTS_REFUSED = Counter("rasd_crawl_robots_refused", "Requests robots.txt forbade, by source", ["source"])

# robots.txt requests are Scrapy's own and carry no source
NO_SOURCE = ""
BEAT_S = 1.0


def source_of(request: Request) -> str:
    return str(request.meta.get("rasd_source", NO_SOURCE))


class CrawlMetrics:
    """Scrapy extension: counts responses and serves the process's metrics."""

    def __init__(self, crawler: Crawler, settings: Settings) -> None:
        self.crawler = crawler
        self.settings = settings
        self.observed: Observed | None = None
        self._server: MetricsServer | None = None
        self._beat: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlMetrics:
        ext = cls(crawler, crawler.settings.get("RASD_SETTINGS") or get_settings())
        crawler.signals.connect(ext.engine_started, signal=signals.engine_started)
        crawler.signals.connect(ext.engine_stopped, signal=signals.engine_stopped)
        crawler.signals.connect(ext.response_received, signal=signals.response_received)
        return ext

    def engine_started(self) -> None:
        # only the continuous crawl (its frontier) keeps state in the engine
        uses_engine = getattr(self.crawler.spider, "worker", None) is not None
        self.observed, self._server = start_observing(self.settings, "crawl", engine=uses_engine)
        self._beat = task.LoopingCall(self._tick)
        self._beat.start(BEAT_S, now=True)

    def _tick(self) -> None:
        assert self.observed is not None
        frontier = getattr(self.crawler.spider, "worker", None)
        if frontier is None or frontier.stalled_for <= self.settings.liveness_stale_s:
            self.observed.liveness.tick()

    def engine_stopped(self) -> None:
        if self._beat is not None and self._beat.running:
            self._beat.stop()
        if self._server is not None:
            self._server.close()
            self._server = None

    def response_received(self, response: Response, request: Request, spider: Any) -> None:
        source = source_of(request)
        PAGES.labels(source, str(response.status)).inc()
        BYTES.labels(source).inc(len(response.body))

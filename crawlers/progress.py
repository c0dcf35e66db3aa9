"""Scrapy's LogStats extension, reporting as Rasd progress lines.

Scrapy's own line ("Crawled N pages (at R pages/min)") goes to a logger Rasd
keeps quiet, and counts neither the queue nor the failures. This one logs,
every ``LOGSTATS_INTERVAL`` (``progress_interval_s``), the responses received
so far, the requests still queued or in flight, the pages published to Kafka,
the dead letters, and the rate. A crawl discovers its work as it goes, so it
has no total and no ETA. The continuous crawl is a service and turns it off
(``continuous_overrides``)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy import Spider, signals
from scrapy.exceptions import NotConfigured
from scrapy.extensions.logstats import LogStats

from crawlers.pipelines import DEAD_LETTER_STAT, PAGES_STAT
from ingest.progress import RateMeter, Snapshot, log_progress

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

_DEAD_PREFIX = DEAD_LETTER_STAT.split("{", 1)[0]


class CrawlProgress(LogStats):
    def __init__(self, crawler: Crawler, interval: float) -> None:
        assert crawler.stats is not None
        super().__init__(crawler.stats, interval)
        self.crawler = crawler
        self.meter = RateMeter("fetched")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlProgress:
        interval = crawler.settings.getfloat("LOGSTATS_INTERVAL")
        if not interval:
            raise NotConfigured
        ext = cls(crawler, interval)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def _queued(self) -> int:
        engine = self.crawler.engine
        if engine is None:
            return 0
        scheduler = engine.scheduler
        waiting = len(scheduler) if scheduler is not None and hasattr(scheduler, "__len__") else 0
        return waiting + len(engine.downloader.active)

    def snapshot(self) -> Snapshot:
        stats = self.stats.get_stats()
        errors = sum(int(v) for k, v in stats.items() if k.startswith(_DEAD_PREFIX))
        return Snapshot(
            done=int(stats.get("response_received_count", 0)),
            extra={"queued": self._queued(), "published": int(stats.get(PAGES_STAT, 0)), "errors": errors},
        )

    def log(self, spider: Spider) -> None:
        # Scrapy's figures stay as they were (its final per-minute stats use them)
        self.calculate_stats()
        log_progress("crawl", self.meter.fields(self.snapshot()))

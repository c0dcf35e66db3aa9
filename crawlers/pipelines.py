"""Publishing the spider's records to Kafka.

Pages go to ``topic_pages`` keyed by the document id of their final URL (so
every version of one article lands in one partition, in order); dead
letters go to ``topic_dead_letters``. Sends are asynchronous; the pipeline
waits for acknowledgements every few hundred records and at the end, and
closes the crawl if Kafka refuses records rather than losing them quietly.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from scrapy.exceptions import DropItem
from scrapy.utils.defer import deferred_from_coro

from ingest.identity import document_id
from ingest.kafka_io import Publisher, make_producer
from ingest.models import DeadLetter, FetchedPage
from ingest.settings import Settings, get_settings

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler

log = structlog.get_logger(__name__)

PAGES_STAT = "rasd/pages_published"
DEAD_LETTER_STAT = "rasd/dead_letters/{reason}"
PUBLISH_ERRORS_STAT = "rasd/publish_errors"
KAFKA_CLOSE_REASON = "kafka_publish_failed"


@dataclass
class Tracked:
    """A record whose sender wants to know when Kafka acknowledged it (the
    continuous crawl records a URL as fetched only then, so a crash can
    never mark as done a page that was lost)."""

    record: FetchedPage | DeadLetter
    on_acked: Callable[[], None]


class KafkaPublishPipeline:
    def __init__(self, crawler: Crawler, settings: Settings, check_every: int, check_every_s: float) -> None:
        self.crawler = crawler
        self.settings = settings
        self.check_every = max(1, check_every)
        self.check_every_s = check_every_s
        self.publisher: Publisher | None = None
        self._unchecked = 0
        self._last_check = time.monotonic()
        self._failed = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings.get("RASD_SETTINGS") or get_settings()
        return cls(
            crawler,
            settings,
            crawler.settings.getint("RASD_SEND_CHECK_EVERY_ITEMS", 200),
            crawler.settings.getfloat("RASD_SEND_CHECK_EVERY_S", 5.0),
        )

    def open_spider(self) -> None:
        self.publisher = Publisher(make_producer(self.settings, client_id="rasd-crawler"))
        log.info(
            "crawl_publishing",
            bootstrap=self.settings.kafka_bootstrap_servers,
            pages=self.settings.topic_pages,
            dead_letters=self.settings.topic_dead_letters,
        )

    def process_item(self, item: Any) -> Any:
        assert self.publisher is not None, "open_spider was not called"
        if self._failed:
            raise DropItem("Kafka refused earlier records; crawl is closing")
        stats = self.crawler.stats
        assert stats is not None
        on_acked = None
        if isinstance(item, Tracked):
            item, on_acked = item.record, item.on_acked
        if isinstance(item, FetchedPage):
            topic, key, stat = self.settings.topic_pages, document_id(item.final_url), PAGES_STAT
        elif isinstance(item, DeadLetter):
            topic, key, stat = self.settings.topic_dead_letters, item.key, DEAD_LETTER_STAT.format(reason=item.reason)
            log.info("crawl_dead_letter", reason=item.reason, url=item.url, source=item.source, document_id=document_id(item.url) if item.url else None,
                     detail=item.detail)
        else:
            raise DropItem(f"not a Rasd record: {type(item).__name__}")
        try:
            future = self.publisher.send(topic, item, key=key)
        except Exception as exc:  # noqa: BLE001 - refused before sending (size, metadata timeout)
            self._fail(exc)
            raise DropItem(f"Kafka refused the record: {exc}") from exc
        if on_acked is not None:
            future.add_callback(lambda _metadata: on_acked())
        stats.inc_value(stat)
        self._unchecked += 1
        if self._unchecked >= self.check_every or time.monotonic() - self._last_check >= self.check_every_s:
            self._check_sends()
        return item

    def _check_sends(self) -> None:
        # Only looks at sends that already failed: waiting for the ones in
        # flight would stall Scrapy's event loop (and every download) for as
        # long as Kafka takes. close_spider waits for all of them.
        assert self.publisher is not None
        self._unchecked = 0
        self._last_check = time.monotonic()
        try:
            self.publisher.check()
        except Exception as exc:  # noqa: BLE001 - any send failure means lost records
            self._fail(exc)

    def _fail(self, exc: BaseException) -> None:
        stats = self.crawler.stats
        assert stats is not None
        stats.inc_value(PUBLISH_ERRORS_STAT)
        log.error("kafka_publish_failed", error=str(exc))
        if self._failed:
            return
        self._failed = True
        if self.crawler.crawling:
            # closing from inside item processing must not wait for itself
            deferred_from_coro(self.crawler.engine.close_spider_async(reason=KAFKA_CLOSE_REASON))

    def close_spider(self) -> None:
        if self.publisher is None:
            return
        try:
            self.publisher.close()
        except Exception as exc:  # noqa: BLE001
            stats = self.crawler.stats
            assert stats is not None
            stats.inc_value(PUBLISH_ERRORS_STAT)
            log.error("kafka_publish_failed", error=str(exc), at="close")
        finally:
            self.publisher = None

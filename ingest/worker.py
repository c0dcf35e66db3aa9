"""The ingest worker: topic ``pages`` -> extraction -> topic ``articles``
(or ``dead-letters``). Extraction is CPU-bound, so this stage scales by
running more workers in the same consumer group, one per partition at most."""
from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from kafka.consumer.fetcher import ConsumerRecord

from ingest.boilerplate import Cleaned, SiteBoilerplate
from ingest.extraction import ExtractionError, extract_article
from ingest.kafka_io import ContractError, Publisher, decode, encode, excerpt, make_consumer, make_producer, run_batches
from ingest.models import Article, DeadLetter, DeadLetterReason, FetchedPage
from ingest.settings import Settings

log = structlog.get_logger(__name__)


@dataclass
class IngestStats:
    pages: int = 0
    articles: int = 0
    boilerplate_lines: int = 0
    dead_letters: dict[str, int] = field(default_factory=dict)

    def dead(self, reason: str) -> None:
        self.dead_letters[reason] = self.dead_letters.get(reason, 0) + 1


@dataclass(frozen=True)
class _Extracted:
    page: FetchedPage
    article: Article
    where: dict[str, Any]


def _dead(settings: Settings, publisher: Publisher, stats: IngestStats, reason: DeadLetterReason, detail: str,
          page: FetchedPage, where: dict[str, Any]) -> None:
    stats.dead(reason)
    publisher.send(
        settings.topic_dead_letters,
        DeadLetter(stage="ingest", reason=reason, detail=detail, url=page.final_url,
                   http_status=page.status, source=page.source, **where),
    )


def extract_record(
    record: ConsumerRecord, settings: Settings, publisher: Publisher, stats: IngestStats
) -> _Extracted | None:
    """One page in: its article, or None once its dead letter is sent."""
    stats.pages += 1
    where: dict[str, Any] = {"input_topic": record.topic, "input_partition": record.partition, "input_offset": record.offset}
    try:
        page = decode(record.value, FetchedPage)
    except ContractError as exc:
        stats.dead("invalid_message")
        publisher.send(
            settings.topic_dead_letters,
            DeadLetter(stage="ingest", reason="invalid_message", detail=str(exc), payload_excerpt=excerpt(record.value), **where),
        )
        return None
    if page.status >= 400:
        _dead(settings, publisher, stats, "http_error", f"HTTP {page.status}", page, where)
        return None
    try:
        return _Extracted(page, extract_article(page, min_chars=settings.min_article_chars), where)
    except ExtractionError as exc:
        _dead(settings, publisher, stats, exc.reason, exc.detail, page, where)
    except Exception as exc:  # a parser bug on one page must not stop the stage
        log.exception("extraction_crashed", url=page.final_url)
        _dead(settings, publisher, stats, "extraction_failed", repr(exc), page, where)
    return None


def publish_article(
    item: _Extracted, cleaned: Cleaned, settings: Settings, publisher: Publisher, stats: IngestStats
) -> None:
    """Exactly one article or dead letter out for an extracted page."""
    article = cleaned.article
    stats.boilerplate_lines += cleaned.removed_lines
    if cleaned.removed_lines and len(article.body) < settings.min_article_chars:
        _dead(settings, publisher, stats, "empty_extraction",
              f"{len(article.body)} characters of text (minimum {settings.min_article_chars}) once "
              f"{cleaned.removed_lines} lines the site repeats on its other pages (site boilerplate) were removed",
              item.page, item.where)
        return
    value = encode(article)
    if len(value) <= settings.kafka_max_message_bytes:
        stats.articles += 1
        publisher.send_raw(settings.topic_articles, value, key=article.id)
        return
    # Kafka would refuse it at send time, and the batch could then never commit.
    _dead(settings, publisher, stats, "too_large",
          f"article is {len(value)} bytes as a message, limit {settings.kafka_max_message_bytes}", item.page, item.where)


def process_batch(
    records: Sequence[ConsumerRecord], settings: Settings, publisher: Publisher, stats: IngestStats,
    boilerplate: SiteBoilerplate,
) -> None:
    """Every page of the batch becomes exactly one article or dead letter.
    The site boilerplate lookup is done for the whole batch at once (one
    round trip to the shared store), after extraction and before publishing."""
    extracted = [item for record in records if (item := extract_record(record, settings, publisher, stats))]
    cleaned = boilerplate.clean([item.article for item in extracted])
    for item, clean in zip(extracted, cleaned):
        publish_article(item, clean, settings, publisher, stats)


def run_ingest(
    settings: Settings,
    *,
    stop: threading.Event | None = None,
    idle_exit_s: float | None = None,
    max_batches: int | None = None,
    until_end: bool = False,
) -> IngestStats:
    stats = IngestStats()

    def progress(loop: object) -> None:
        log.info("ingest_batch", pages=stats.pages, articles=stats.articles, dead_letters=sum(stats.dead_letters.values()),
                 boilerplate_lines=stats.boilerplate_lines)

    consumer = make_consumer(settings, settings.topic_pages, settings.ingest_group_id, client_id="rasd-ingest")
    boilerplate = SiteBoilerplate(settings)
    try:
        publisher = Publisher(make_producer(settings, client_id="rasd-ingest"))
        failed = True
        try:

            def handle(records: Sequence[ConsumerRecord]) -> None:
                process_batch(records, settings, publisher, stats, boilerplate)
                # Raises if any output was not acknowledged: the batch stays uncommitted.
                publisher.flush()

            run_batches(consumer, handle, poll_timeout_ms=settings.consumer_poll_timeout_ms, stop=stop,
                        idle_exit_s=idle_exit_s, max_batches=max_batches, until_end=until_end, on_batch=progress)
            failed = False
        finally:
            publisher.close(flush=not failed)
    finally:
        boilerplate.close()
        consumer.close(autocommit=False)
    return stats

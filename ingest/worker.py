"""The ingest worker: topic ``pages`` -> extraction -> topic ``articles``
(or ``dead-letters``). Extraction is CPU-bound, so this stage scales by
running more workers in the same consumer group, one per partition at most."""
from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import structlog
from kafka.consumer.fetcher import ConsumerRecord

from ingest.extraction import ExtractionError, extract_article
from ingest.kafka_io import ContractError, Publisher, decode, encode, excerpt, make_consumer, make_producer, run_batches
from ingest.models import DeadLetter, FetchedPage
from ingest.settings import Settings

log = structlog.get_logger(__name__)


@dataclass
class IngestStats:
    pages: int = 0
    articles: int = 0
    dead_letters: dict[str, int] = field(default_factory=dict)

    def dead(self, reason: str) -> None:
        self.dead_letters[reason] = self.dead_letters.get(reason, 0) + 1


def process_record(record: ConsumerRecord, settings: Settings, publisher: Publisher, stats: IngestStats) -> None:
    """One page in, exactly one article or dead letter out."""
    stats.pages += 1
    where = {"input_topic": record.topic, "input_partition": record.partition, "input_offset": record.offset}
    try:
        page = decode(record.value, FetchedPage)
    except ContractError as exc:
        stats.dead("invalid_message")
        publisher.send(
            settings.topic_dead_letters,
            DeadLetter(stage="ingest", reason="invalid_message", detail=str(exc), payload_excerpt=excerpt(record.value), **where),
        )
        return
    if page.status >= 400:
        stats.dead("http_error")
        publisher.send(
            settings.topic_dead_letters,
            DeadLetter(stage="ingest", reason="http_error", detail=f"HTTP {page.status}", url=page.final_url,
                       http_status=page.status, source=page.source, **where),
        )
        return
    try:
        article = extract_article(page, min_chars=settings.min_article_chars)
    except ExtractionError as exc:
        reason, detail = exc.reason, exc.detail
    except Exception as exc:  # a parser bug on one page must not stop the stage
        log.exception("extraction_crashed", url=page.final_url)
        reason, detail = "extraction_failed", repr(exc)
    else:
        value = encode(article)
        if len(value) <= settings.kafka_max_message_bytes:
            stats.articles += 1
            publisher.send_raw(settings.topic_articles, value, key=article.id)
            return
        # Kafka would refuse it at send time, and the batch could then never commit.
        reason, detail = "too_large", f"article is {len(value)} bytes as a message, limit {settings.kafka_max_message_bytes}"
    stats.dead(reason)
    publisher.send(
        settings.topic_dead_letters,
        DeadLetter(stage="ingest", reason=reason, detail=detail, url=page.final_url,
                   http_status=page.status, source=page.source, **where),
    )


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
        log.info("ingest_batch", pages=stats.pages, articles=stats.articles, dead_letters=sum(stats.dead_letters.values()))

    consumer = make_consumer(settings, settings.topic_pages, settings.ingest_group_id, client_id="rasd-ingest")
    try:
        publisher = Publisher(make_producer(settings, client_id="rasd-ingest"))
        failed = True
        try:

            def handle(records: Sequence[ConsumerRecord]) -> None:
                for record in records:
                    process_record(record, settings, publisher, stats)
                # Raises if any output was not acknowledged: the batch stays uncommitted.
                publisher.flush()

            run_batches(consumer, handle, poll_timeout_ms=settings.consumer_poll_timeout_ms, stop=stop,
                        idle_exit_s=idle_exit_s, max_batches=max_batches, until_end=until_end, on_batch=progress)
            failed = False
        finally:
            publisher.close(flush=not failed)
    finally:
        consumer.close(autocommit=False)
    return stats

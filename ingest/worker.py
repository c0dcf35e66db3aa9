"""The ingest worker: topic ``pages`` -> extraction -> topic ``articles``
(or ``dead-letters``). Extraction is CPU-bound, so this stage scales by
running more workers in the same consumer group, one per partition at most.

Besides Kafka, a batch uses three shared stores in the search engine, each
read and written once per batch: the sites' repeated lines (boilerplate),
the story clusters, and the extraction log behind `rasd sources health`."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from kafka import TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.structs import OffsetAndMetadata

from ingest.boilerplate import SiteBoilerplate
from ingest.clusters import ClusterInput, StoryClusters
from ingest.extraction import ExtractionError, classification_of, extract_article, with_body
from ingest.extraction_log import ExtractionLog, PageOutcome
from ingest.identity import document_id
from ingest.kafka_io import ContractError, Publisher, decode, encode, excerpt, make_consumer
from ingest.kafka_transactions import TransactionalPublisher
from ingest import metrics
from ingest.batch_loop import next_offsets, run_overlapped_batches
from ingest.models import Article, DeadLetter, DeadLetterReason, FetchedPage
from ingest.observability import Liveness, LoopWatch
from ingest.settings import Settings
from ingest.source_profiles import SourceProfiles

log = structlog.get_logger(__name__)


@dataclass
class IngestStats:
    pages: int = 0
    articles: int = 0
    boilerplate_lines: int = 0
    clustered: int = 0
    unclustered: int = 0
    dead_letters: dict[str, int] = field(default_factory=dict)
    # monotonic clock at the first batch's start and the last batch's end
    # (steady work, without start-up: group join, stores' indices)
    first_batch_at: float | None = None
    last_batch_end: float | None = None

    # Batches overlap: one is extracted while the one before is finished on
    # another thread, and both count dead letters.
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def dead(self, reason: str) -> None:
        with self._lock:
            self.dead_letters[reason] = self.dead_letters.get(reason, 0) + 1
        metrics.page_dead(reason)


@dataclass
class IngestParts:
    """The shared stores and the sources file a batch consults."""

    boilerplate: SiteBoilerplate
    clusters: StoryClusters
    extraction_log: ExtractionLog
    profiles: SourceProfiles

    @classmethod
    def open(cls, settings: Settings) -> IngestParts:
        return cls(SiteBoilerplate(settings), StoryClusters(settings), ExtractionLog(settings),
                   SourceProfiles(settings.sources_file))

    def close(self) -> None:
        for part in (self.boilerplate, self.clusters, self.extraction_log):
            try:
                part.close()
            except Exception:  # closing must not hide the error that ended the run
                log.exception("ingest_part_close_failed", part=type(part).__name__)


@dataclass(frozen=True)
class _Extracted:
    page: FetchedPage
    article: Article
    where: dict[str, Any]


class ExtractedBatch:
    """One batch between its two halves: the pages extracted so far, and its
    outputs (exactly one article or dead letter per page, one extraction-log
    outcome per page that could be read)."""

    def __init__(self, settings: Settings, publisher: Publisher, stats: IngestStats,
                 offsets: dict[TopicPartition, OffsetAndMetadata],
                 commit: Callable[[dict[TopicPartition, OffsetAndMetadata]], None] | None = None) -> None:
        self.settings = settings
        self.publisher = publisher
        self.stats = stats
        self.outcomes: list[PageOutcome] = []
        self.extracted: list[_Extracted] = []
        # Sent with the batch's articles, in its transaction: the head of a
        # batch runs while the one before may still be committing.
        self.letters: list[DeadLetter] = []
        # the input's next offsets, and how to commit them with the outputs
        # (None: the consume loop commits once the outputs are acknowledged)
        self.offsets = offsets
        self.commit = commit

    def letter(self, letter: DeadLetter) -> None:
        self.letters.append(letter)

    def dead(self, reason: DeadLetterReason, detail: str, page: FetchedPage, where: dict[str, Any]) -> None:
        self.stats.dead(reason)
        self.letter(DeadLetter(stage="ingest", reason=reason, detail=detail, url=page.final_url,
                               http_status=page.status, source=page.source, **where))
        self.outcomes.append(PageOutcome(
            source=page.source, url=page.final_url, page_id=document_id(page.final_url), fetched_at=page.fetched_at,
            classification=classification_of(reason), reason=reason, has_title=False, has_date=False, body_chars=0,
            furniture_lines=0,
        ))

    def published(self, page: FetchedPage, article: Article) -> None:
        self.outcomes.append(PageOutcome(
            source=page.source, url=page.final_url, page_id=document_id(page.final_url), fetched_at=page.fetched_at,
            classification="article", reason=None, has_title=bool(article.title), has_date=article.published_at is not None,
            body_chars=len(article.body), furniture_lines=article.furniture_removed,
        ))


def extract_record(record: ConsumerRecord, batch: ExtractedBatch, profiles: SourceProfiles) -> _Extracted | None:
    """One page in: its article, or None once its dead letter is sent."""
    settings, stats = batch.settings, batch.stats
    stats.pages += 1
    where: dict[str, Any] = {"input_topic": record.topic, "input_partition": record.partition, "input_offset": record.offset}
    try:
        page = decode(record.value, FetchedPage)
    except ContractError as exc:
        stats.dead("invalid_message")
        letter = DeadLetter(stage="ingest", reason="invalid_message", detail=str(exc),
                            payload_excerpt=excerpt(record.value), **where)
        batch.letter(letter)
        return None
    if page.status >= 400:
        batch.dead("http_error", f"HTTP {page.status}", page, where)
        return None
    try:
        article = extract_article(page, min_chars=settings.min_article_chars, profile=profiles.get(page.source),
                                  max_page_bytes=settings.crawl_max_page_bytes)
        return _Extracted(page, article, where)
    except ExtractionError as exc:
        batch.dead(exc.reason, exc.detail, page, where)
    except Exception as exc:  # a parser bug on one page must not stop the stage
        log.exception("extraction_crashed", url=page.final_url, source=page.source, document_id=document_id(page.final_url))
        batch.dead("extraction_failed", repr(exc), page, where)
    return None


def _publish(item: _Extracted, article: Article, batch: ExtractedBatch) -> None:
    settings = batch.settings
    value = encode(article)
    if len(value) > settings.kafka_max_message_bytes:
        # Kafka would refuse it at send time, and the batch could then never commit.
        batch.dead("too_large", f"article is {len(value)} bytes as a message, limit {settings.kafka_max_message_bytes}",
                   item.page, item.where)
        return
    batch.stats.articles += 1
    batch.publisher.send_raw(settings.topic_articles, value, key=article.id)
    metrics.article_published(article.language)
    batch.published(item.page, article)


def extract_batch(records: Sequence[ConsumerRecord], settings: Settings, publisher: Publisher, stats: IngestStats,
                  parts: IngestParts,
                  commit: Callable[[dict[TopicPartition, OffsetAndMetadata]], None] | None = None) -> ExtractedBatch:
    """The CPU-bound head of a batch: decode and extract every page (pages
    that fail get their dead letter, sent by the tail). Touches no shared
    store and sends nothing. ``commit``: see ``ExtractedBatch``."""
    if stats.first_batch_at is None:
        stats.first_batch_at = time.monotonic()
    batch = ExtractedBatch(settings, publisher, stats, next_offsets(records), commit)
    parts.profiles.refresh()
    batch.extracted = [item for record in records if (item := extract_record(record, batch, parts.profiles))]
    return batch


def finish_batch(batch: ExtractedBatch, parts: IngestParts) -> None:
    """The tail of a batch: site boilerplate and story clusters looked up for
    the whole batch at once (a round trip or two to each shared store), the
    articles published, the outcomes logged, every output acknowledged (or
    an exception: the batch must not be committed)."""
    settings, stats = batch.settings, batch.stats
    started = time.monotonic()
    extracted = batch.extracted
    kept: list[tuple[_Extracted, Article]] = []
    for item, clean in zip(extracted, parts.boilerplate.clean([item.article for item in extracted])):
        stats.boilerplate_lines += clean.removed_lines
        article = item.article
        if clean.removed_lines:
            article = with_body(article, clean.article.body, removed_lines=clean.removed_lines)
            if len(article.body) < settings.min_article_chars:
                batch.dead("empty_extraction",
                           f"{len(article.body)} characters of text (minimum {settings.min_article_chars}) once "
                           f"{clean.removed_lines} lines the site repeats on its other pages (site boilerplate) were removed",
                           item.page, item.where)
                continue
        kept.append((item, article))
    assignments = parts.clusters.assign([
        ClusterInput(id=a.id, url=a.url, source=a.source, text_norm=a.body_norm, content_hash=a.content_hash)
        for _, a in kept
    ])
    for (item, article), assigned in zip(kept, assignments):
        if assigned.cluster_id is None:
            stats.unclustered += 1
        else:
            stats.clustered += 1
        _publish(item, article.model_copy(update={"cluster_id": assigned.cluster_id, "duplicate_of": assigned.duplicate_of}),
                 batch)
    for letter in batch.letters:
        batch.publisher.send(settings.topic_dead_letters, letter, key=letter.key)
    parts.extraction_log.record(batch.outcomes)
    # Raises if any output was not acknowledged (or, in a transaction, not
    # committed): the batch is then replayed.
    if batch.commit is not None:
        batch.commit(batch.offsets)
    else:
        batch.publisher.flush()
    stats.last_batch_end = time.monotonic()
    metrics.BATCH_SECONDS.observe(stats.last_batch_end - started)


def process_batch(records: Sequence[ConsumerRecord], settings: Settings, publisher: Publisher, stats: IngestStats,
                  parts: IngestParts) -> None:
    """Every page of the batch becomes exactly one acknowledged article or
    dead letter (both halves in turn, for callers that need no overlap)."""
    finish_batch(extract_batch(records, settings, publisher, stats, parts), parts)


def run_ingest(
    settings: Settings,
    *,
    stop: threading.Event | None = None,
    idle_exit_s: float | None = None,
    max_batches: int | None = None,
    until_end: bool = False,
    liveness: Liveness | None = None,
    stats: IngestStats | None = None,
) -> IngestStats:
    """Consume the pages topic until ``stop``, idle, ``max_batches`` or (``until_end``)
    drained. ``liveness`` is ticked on every turn of the consume loop. A caller
    that reports progress passes ``stats`` and reads it while they fill."""
    stats = stats if stats is not None else IngestStats()

    def progress(loop: object) -> None:
        log.info("ingest_batch", pages=stats.pages, articles=stats.articles, dead_letters=sum(stats.dead_letters.values()),
                 boilerplate_lines=stats.boilerplate_lines, clustered=stats.clustered, unclustered=stats.unclustered)

    consumer = make_consumer(settings, settings.topic_pages, settings.ingest_group_id, client_id="rasd-ingest")
    watch = LoopWatch(consumer, settings.ingest_group_id, settings, liveness)
    parts = IngestParts.open(settings)
    try:
        publisher = TransactionalPublisher(settings, client_id="rasd-ingest")
        failed = True

        def commit(offsets: dict[TopicPartition, OffsetAndMetadata]) -> None:
            publisher.commit(offsets, consumer.group_metadata())

        try:

            # A batch's store round trips and Kafka acknowledgements overlap
            # the extraction of the next one.
            run_overlapped_batches(
                consumer, lambda records: extract_batch(records, settings, publisher, stats, parts, commit),
                lambda batch: finish_batch(batch, parts), poll_timeout_ms=settings.consumer_poll_timeout_ms, stop=stop,
                idle_exit_s=idle_exit_s, max_batches=max_batches, until_end=until_end, on_batch=progress,
                batch_max_s=settings.batch_max_s, tick=watch.tick, commits=False)
            watch.finish()
            failed = False
        finally:
            publisher.close(flush=not failed)
    finally:
        parts.close()
        consumer.close(autocommit=False)
    return stats

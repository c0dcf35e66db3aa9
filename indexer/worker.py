"""The indexer: articles topic -> bulk requests -> search engine.

At-least-once: a batch's offsets are committed (by ``run_batches``) only after
every article of it is either acknowledged by the engine or written to the
dead-letter topic. Documents are written with their article id and the
``index`` operation, so a batch replayed after a crash overwrites what it had
already written instead of duplicating it.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from kafka.consumer.fetcher import ConsumerRecord

from ingest.kafka_io import ContractError, Publisher, excerpt, decode, make_consumer, make_producer, run_batches
from ingest.models import Article, DeadLetter, utcnow
from ingest.settings import Settings
from indexer.documents import id_problem, to_document
from indexer.engines.base import ItemResult, SearchEngine

log = structlog.get_logger(__name__)

_EXCERPT_CHARS = 500


class IndexingStalled(RuntimeError):
    """The engine kept failing retryably; the batch stays uncommitted."""


@dataclass
class IndexerStats:
    batches: int = 0
    records: int = 0
    indexed: int = 0
    dead_lettered: int = 0


def group_id(settings: Settings, engine: SearchEngine) -> str:
    # One group per engine: an Elasticsearch and an OpenSearch indexer each
    # read the whole topic.
    return settings.indexer_group_id or f"rasd-indexer-{engine.distribution}"


class _BatchIndexer:
    def __init__(self, settings: Settings, engine: SearchEngine, publisher: Publisher, stats: IndexerStats) -> None:
        self._settings = settings
        self._engine = engine
        self._publisher = publisher
        self._stats = stats
        self._alias = settings.articles_alias

    def __call__(self, records: Sequence[ConsumerRecord]) -> None:
        started = time.monotonic()
        dead: list[DeadLetter] = []
        latest: dict[str, tuple[ConsumerRecord, Article]] = {}
        for record in records:
            try:
                article = decode(record.value, Article)
                problem = id_problem(article.id)
                if problem:
                    raise ContractError(problem)
            except ContractError as exc:
                dead.append(self._dead_letter(record, "invalid_message", str(exc), excerpt=excerpt(record.value)))
                continue
            # A batch may hold several versions of one article (re-fetches):
            # the last one read is the newest.
            latest.pop(article.id, None)
            latest[article.id] = (record, article)

        indexed_at = utcnow()
        docs = [to_document(article, indexed_at) for _, article in latest.values()]
        rejected = self._index_with_retries(docs)
        for item in rejected:
            record, article = latest[item.id]
            dead.append(
                self._dead_letter(record, "index_rejected", item.reason or f"HTTP {item.status}", article=article)
            )

        for letter in dead:
            self._publisher.send(self._settings.topic_dead_letters, letter, key=letter.url)
        # Only acknowledged dead letters let the batch be committed.
        self._publisher.flush()

        indexed = len(docs) - len(rejected)
        self._stats.batches += 1
        self._stats.records += len(records)
        self._stats.indexed += indexed
        self._stats.dead_lettered += len(dead)
        elapsed = time.monotonic() - started
        log.info(
            "index_batch",
            engine=self._engine.distribution,
            alias=self._alias,
            records=len(records),
            indexed=indexed,
            duplicates_in_batch=len(records) - len(dead) + len(rejected) - len(docs),
            dead_lettered=len(dead),
            seconds=round(elapsed, 3),
            docs_per_s=round(indexed / elapsed, 1) if elapsed > 0 else None,
            total_indexed=self._stats.indexed,
        )

    def _index_with_retries(self, docs: list[dict[str, Any]]) -> list[ItemResult]:
        """Index ``docs``; return the permanently rejected ones. Raise
        ``IndexingStalled`` if some stay retryable after every attempt.

        Hand-written rather than tenacity: each attempt re-sends only the
        documents that failed retryably last time, and rejected ones leave the
        loop for the dead-letter topic; a whole-call retry would re-send all."""
        settings = self._settings
        rejected: list[ItemResult] = []
        pending = docs
        delay = settings.index_retry_initial_s
        for attempt in range(1, settings.index_retry_attempts + 1):
            if not pending:
                break
            outcome = self._engine.bulk_index(self._alias, pending)
            rejected.extend(outcome.rejected)
            retry = outcome.retryable
            if not retry:
                return rejected
            retry_ids = {item.id for item in retry}
            pending = [doc for doc in pending if doc["id"] in retry_ids]
            if attempt == settings.index_retry_attempts:
                break
            log.warning(
                "index_retry",
                engine=self._engine.distribution,
                attempt=attempt,
                retryable=len(retry),
                first_reason=retry[0].reason,
                sleep_s=delay,
            )
            time.sleep(delay)
            delay = min(delay * 2, settings.index_retry_max_s)
        raise IndexingStalled(
            f"{len(pending)} document(s) still failing after {settings.index_retry_attempts} attempts "
            f"on {self._engine.distribution}; batch left uncommitted"
        )

    def _dead_letter(
        self,
        record: ConsumerRecord,
        reason: str,
        detail: str,
        *,
        excerpt: str | None = None,
        article: Article | None = None,
    ) -> DeadLetter:
        return DeadLetter(
            stage="index",
            reason=reason,  # type: ignore[arg-type]
            detail=detail,
            url=article.url if article else None,
            source=article.source if article else None,
            input_topic=record.topic,
            input_partition=record.partition,
            input_offset=record.offset,
            payload_excerpt=excerpt,
        )


def run_indexer(
    settings: Settings,
    engine: SearchEngine,
    *,
    stop: threading.Event | None = None,
    idle_exit_s: float | None = None,
    max_batches: int | None = None,
    until_end: bool = False,
) -> IndexerStats:
    """Consume ``settings.topic_articles`` into ``settings.articles_alias``
    until ``stop`` is set, the topic has been idle for ``idle_exit_s``,
    ``max_batches`` batches are committed, or (``until_end``) the topic is drained. Raises (leaving the current batch
    uncommitted) if the engine stays unavailable or Kafka refuses a dead letter."""
    write_index = engine.ensure_index(settings.articles_alias)
    group = group_id(settings, engine)
    log.info(
        "indexer_start",
        engine=engine.distribution,
        version=engine.version,
        alias=settings.articles_alias,
        write_index=write_index,
        topic=settings.topic_articles,
        group=group,
    )
    stats = IndexerStats()

    publisher = Publisher(make_producer(settings, client_id=f"rasd-indexer-{engine.distribution}-dlq"))
    failed = True
    try:
        consumer = make_consumer(settings, settings.topic_articles, group, client_id=f"rasd-indexer-{engine.distribution}")
        try:
            run_batches(
                consumer,
                _BatchIndexer(settings, engine, publisher, stats),
                poll_timeout_ms=settings.consumer_poll_timeout_ms,
                stop=stop,
                idle_exit_s=idle_exit_s,
                max_batches=max_batches,
                until_end=until_end,
            )
            failed = False
        finally:
            consumer.close(autocommit=False)
    finally:
        publisher.close(flush=not failed)
    log.info("indexer_stop", engine=engine.distribution, **stats.__dict__)
    return stats

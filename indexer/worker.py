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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import structlog
from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.structs import OffsetAndMetadata

from ingest.batch_loop import consumed_offsets, next_offsets, run_batches
from ingest.kafka_io import ContractError, Publisher, excerpt, decode, make_consumer
from ingest.kafka_transactions import TransactionalPublisher
from ingest.engines.errors import EngineError
from ingest.models import Alert, Article, DeadLetter, utcnow
from ingest.settings import Settings
from ingest.observability import Liveness, LoopWatch
from indexer import metrics
from indexer.alerts.emit import PendingAlert, emit_alerts
from indexer.alerts.percolate import RuleMatch, percolate
from indexer.alerts.records import alert_id
from indexer.bulk import BulkLimits
from indexer.documents import id_problem, to_document
from indexer.engines.base import ItemResult, SearchEngine
from indexer.lifecycle import IndexLifecycle
from indexer.routing import route
from indexer.stall import GroupKeeper, IndexingStopped, Stall

log = structlog.get_logger(__name__)
T = TypeVar("T")

_EXCERPT_CHARS = 500


@dataclass
class IndexerStats:
    batches: int = 0
    records: int = 0
    indexed: int = 0
    dead_lettered: int = 0
    alerts: int = 0
    # time spent matching batches against the rules (percolation)
    percolate_s: float = 0.0
    # time spent handling batches (decode to dead letters flushed), without
    # waiting on Kafka polls and commits
    busy_s: float = 0.0
    # monotonic clock at the first batch's start and the last batch's end:
    # between them, steady work with its polls and commits, without start-up
    first_batch_at: float | None = None
    last_batch_end: float | None = None
    # Waiting for an engine that cannot take writes: since when (None: not
    # stalled now), why (the last failure), the total seconds spent waiting
    # in finished stalls, and how many stalls there were.
    stalled_since: datetime | None = None
    stall_reason: str | None = None
    stall_seconds: float = 0.0
    stalls: int = 0


def group_id(settings: Settings, engine: SearchEngine) -> str:
    # One group per engine: an Elasticsearch and an OpenSearch indexer each
    # read the whole topic.
    return settings.indexer_group_id or f"rasd-indexer-{engine.distribution}"


class _BatchIndexer:
    def __init__(
        self,
        settings: Settings,
        engine: SearchEngine,
        publisher: Publisher,
        stats: IndexerStats,
        *,
        consumer: KafkaConsumer | None = None,
        stop: threading.Event | None = None,
        tick: Callable[[], None] | None = None,
        commit: Callable[[dict[TopicPartition, OffsetAndMetadata]], None] | None = None,
    ) -> None:
        self._settings = settings
        # commits the batch's offsets with its outputs (dead letters, alerts)
        # in one transaction; None: the consume loop commits after the flush
        self._commit = commit
        self._tick = tick
        self._engine = engine
        self._publisher = publisher
        self._stats = stats
        self._alias = settings.articles_alias
        self._limits = BulkLimits.from_settings(settings)
        self._consumer = consumer
        self._keeper = GroupKeeper(consumer)
        self._stop = stop or threading.Event()

    def __call__(self, records: Sequence[ConsumerRecord]) -> None:
        started = time.monotonic()
        if self._stats.first_batch_at is None:
            self._stats.first_batch_at = started
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
        entries = list(latest.values())
        docs = [to_document(article, indexed_at) for _, article in entries]
        percolate_started = time.monotonic()
        matches = self._percolate(docs, entries, dead)
        percolate_s = time.monotonic() - percolate_started
        for slot, doc in enumerate(docs):
            doc["matched_rules"] = sorted({m.rule for m in matches.get(slot, [])})
        rejected = self._index_with_retries(docs)
        for item in rejected:
            record, article = latest[item.id]
            dead.append(
                # the engine's status, error type and reason ("HTTP 400: mapper_parsing_exception: ...")
                self._dead_letter(record, "index_rejected", f"HTTP {item.status}: {item.reason}", article=article)
            )
        # Alerts only for what the engine acknowledged: an alert must never
        # point at an article that cannot be found.
        acked_at = utcnow()
        rejected_ids = {item.id for item in rejected}
        alerts = [
            self._pending_alert(article, match, acked_at)
            for slot, (_, article) in enumerate(entries)
            if article.id not in rejected_ids
            for match in matches.get(slot, [])
        ]
        if alerts:
            self._with_retries(lambda: emit_alerts(self._engine, self._publisher, self._settings, alerts), "alerts")

        for letter in dead:
            self._publisher.send(self._settings.topic_dead_letters, letter, key=letter.key)
        # Only acknowledged (in a transaction: committed) dead letters and
        # alerts let the batch be committed; otherwise it is replayed.
        if self._commit is not None:
            self._commit(consumed_offsets(self._consumer, records) if self._consumer else next_offsets(records))
        else:
            self._publisher.flush()

        indexed = len(docs) - len(rejected)
        self._stats.batches += 1
        self._stats.records += len(records)
        self._stats.indexed += indexed
        self._stats.dead_lettered += len(dead)
        self._stats.alerts += len(alerts)
        self._stats.percolate_s += percolate_s
        elapsed = time.monotonic() - started
        self._stats.busy_s += elapsed
        self._stats.last_batch_end = started + elapsed
        metrics.batch_indexed(self._engine.distribution, elapsed, indexed, len(alerts))
        log.info(
            "index_batch",
            engine=self._engine.distribution,
            alias=self._alias,
            records=len(records),
            indexed=indexed,
            duplicates_in_batch=len(records) - len(dead) + len(rejected) - len(docs),
            dead_lettered=len(dead),
            alerts=len(alerts),
            percolate_s=round(percolate_s, 3),
            seconds=round(elapsed, 3),
            docs_per_s=round(indexed / elapsed, 1) if elapsed > 0 else None,
            total_indexed=self._stats.indexed,
        )

    def _percolate(
        self, docs: list[dict[str, Any]], entries: list[tuple[ConsumerRecord, Article]], dead: list[DeadLetter]
    ) -> dict[int, list[RuleMatch]]:
        """Rules matched per document position. A batch the engine refuses
        to percolate is percolated one document at a time, so one bad
        document costs only its own alerts (and says so in a dead letter)
        while it is still indexed."""
        settings = self._settings

        def run(batch: list[dict[str, Any]]) -> dict[int, list[RuleMatch]]:
            return self._with_retries(
                lambda: percolate(self._engine, settings.rules_index, batch, page_size=settings.percolate_page_size).slots,
                "percolate",
            )

        try:
            return run(docs)
        except EngineError as exc:
            if exc.retryable:
                raise
            log.warning("percolate_refused_batch", documents=len(docs), error=str(exc))
        matches: dict[int, list[RuleMatch]] = {}
        for slot, doc in enumerate(docs):
            try:
                found = run([doc]).get(0)
            except EngineError as exc:
                if exc.retryable:
                    raise
                record, article = entries[slot]
                dead.append(self._dead_letter(record, "percolate_failed", str(exc), article=article))
                continue
            if found:
                matches[slot] = found
        return matches

    def _pending_alert(self, article: Article, match: RuleMatch, acked_at: Any) -> PendingAlert:
        alert = Alert(
            # one alert per rule and story: the same wire story republished
            # on ten sites alerts once (its first-seen copy)
            id=alert_id(match.rule, article.cluster_id or article.id),
            rule=match.rule,
            severity=match.severity,  # type: ignore[arg-type]
            channels=[c.name for c in match.channels],
            article_id=article.id,
            url=article.url,
            source=article.source,
            title=article.title,
            language=article.language,
            published_at=article.published_at,
            snippet=match.snippet,
            matched_terms=match.matched_terms,
            indexed_at=acked_at,
        )
        return PendingAlert(alert=alert, channels=list(match.channels), cooldown_s=match.cooldown_s, digest=match.digest)

    def _stall(self, step: str) -> Stall:
        settings = self._settings
        return Stall(
            step,
            self._engine.distribution,
            initial_s=settings.index_retry_initial_s,
            max_s=settings.index_retry_max_s,
            log_interval_s=settings.index_stall_log_interval_s,
            stats=self._stats,
            keeper=self._keeper,
            stop=self._stop,
            tick=self._tick,
        )

    def _with_retries(self, call: Callable[[], T], what: str) -> T:
        """Run ``call``; on retryable engine errors wait (backoff, consumer
        kept in its group) and run it again, for as long as it takes."""
        stall = self._stall(what)
        while True:
            try:
                result = call()
            except EngineError as exc:
                if not exc.retryable:
                    raise
                stall.wait(str(exc))
                continue
            stall.end()
            return result

    def _index_with_retries(self, docs: list[dict[str, Any]]) -> list[ItemResult]:
        """Index ``docs``; return the permanently rejected ones. Documents
        that fail retryably are sent again (only they), waiting as long as
        the engine needs.

        Hand-written rather than a whole-call retry: each attempt re-sends
        only the documents that failed retryably last time, and rejected ones
        leave the loop for the dead-letter topic."""
        rejected: list[ItemResult] = []
        pending = docs
        stall = self._stall("bulk")
        while pending:
            # Routed on every attempt: a retry after a rollover or migration goes where the document is now.
            targets = self._with_retries(
                lambda: route(self._engine, self._alias, pending), "route")  # type: ignore[arg-type]
            outcome = self._engine.bulk_index(self._alias, pending, limits=self._limits, targets=targets)
            rejected.extend(outcome.rejected)
            retry = outcome.retryable
            if not retry:
                break
            retry_ids = {item.id for item in retry}
            pending = [doc for doc in pending if doc["id"] in retry_ids]
            stall.wait(f"{retry[0].reason or f'HTTP {retry[0].status}'}", pending=len(pending))
        stall.end()
        return rejected

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
    liveness: Liveness | None = None,
    stats: IndexerStats | None = None,
) -> IndexerStats:
    """Consume ``settings.topic_articles`` into ``settings.articles_alias``
    until ``stop`` is set, the topic has been idle for ``idle_exit_s``,
    ``max_batches`` batches are committed, or (``until_end``) the topic is
    drained. An engine that cannot take writes is waited for, however long
    (``stop`` still ends the wait, leaving the batch uncommitted). Raises
    (leaving the current batch uncommitted) if Kafka refuses a dead letter
    or the engine refuses a request as a whole (percolation, alerts).
    ``liveness`` is ticked on every turn of the consume loop and of a stall's wait.
    A caller that reports progress passes ``stats`` and reads it while they fill."""
    lifecycle = IndexLifecycle.start(settings, engine)  # type: ignore[arg-type]
    write_index = lifecycle.write_index
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
    stats = stats if stats is not None else IndexerStats()
    stop = stop or threading.Event()

    try:
        publisher = TransactionalPublisher(settings, client_id=f"rasd-indexer-{engine.distribution}-dlq")
        failed = True
        try:
            consumer = make_consumer(settings, settings.topic_articles, group,
                                     client_id=f"rasd-indexer-{engine.distribution}")
            try:
                watch = LoopWatch(consumer, group, settings, liveness)
                indexer = _BatchIndexer(
                    settings, engine, publisher, stats, consumer=consumer, stop=stop, tick=watch.tick,
                    commit=lambda offsets: publisher.commit(offsets, consumer.group_metadata()))
                try:
                    run_batches(
                        consumer,
                        indexer,
                        poll_timeout_ms=settings.consumer_poll_timeout_ms,
                        stop=stop,
                        idle_exit_s=idle_exit_s,
                        max_batches=max_batches,
                        until_end=until_end,
                        batch_max_s=settings.batch_max_s,
                        tick=watch.tick,
                        commits=False,
                    )
                    watch.finish()
                except IndexingStopped as exc:
                    log.warning("indexer_stopped_while_stalled", engine=engine.distribution, detail=str(exc))
                failed = False
            finally:
                consumer.close(autocommit=False)
        finally:
            publisher.close(flush=not failed)
    finally:
        # also when the producer could not even be made
        lifecycle.stop()
    log.info("indexer_stop", engine=engine.distribution, **{k: v for k, v in stats.__dict__.items() if v is not None})
    return stats

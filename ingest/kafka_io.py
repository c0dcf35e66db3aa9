"""Kafka plumbing shared by every stage: topic creation, (de)serialization of
the topic contracts, producers that report failures, consumers with the
pipeline's limits (the consume loops are in ``ingest.batch_loop``)."""
from __future__ import annotations

import threading
import time
from typing import Any, TypeVar

import structlog
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import KafkaError, KafkaTimeoutError, TopicAlreadyExistsError
from pydantic import BaseModel, ValidationError

from ingest.kafka_connection import kafka_client_kwargs
from ingest.models import DeadLetter
from ingest.observability import DEAD_LETTERS
from ingest.settings import Settings

log = structlog.get_logger(__name__)
M = TypeVar("M", bound=BaseModel)


# Room for the record's key, headers and batch framing on top of the value.
_RECORD_OVERHEAD_BYTES = 64 * 1024


_PRODUCER_BATCH_BYTES = 512 * 1024


def max_record_bytes(settings: Settings) -> int:
    """The size every Kafka limit is set to (topic, producer request, consumer
    fetch), so a value within ``kafka_max_message_bytes`` always fits."""
    return settings.kafka_max_message_bytes + _RECORD_OVERHEAD_BYTES


def excerpt(raw: bytes | None, limit: int = 200) -> str | None:
    """The start of an unreadable message, for a dead letter."""
    return None if raw is None else raw[:limit].decode("utf-8", errors="replace")


class ContractError(ValueError):
    """A message on a topic does not match the topic's contract."""


def encode(model: BaseModel) -> bytes:
    return model.model_dump_json().encode("utf-8")


def decode(raw: bytes | None, model: type[M]) -> M:
    if raw is None:
        raise ContractError("empty message (tombstone)")
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise ContractError(f"not a valid {model.__name__}: {exc.error_count()} error(s): {exc.errors()[0]['msg']}") from exc


def all_topics(settings: Settings) -> list[str]:
    return list(topic_partitions(settings))


def topic_partitions(settings: Settings) -> dict[str, int]:
    """Every topic of the pipeline with its partition count."""
    return {
        settings.topic_pages: settings.topic_partitions,
        settings.topic_articles: settings.topic_partitions,
        settings.topic_dead_letters: settings.topic_partitions,
        # more partitions than crawler processes, so hosts spread evenly
        settings.topic_frontier: settings.frontier_partitions,
        settings.topic_alerts: settings.topic_partitions,
    }


def topic_configs(settings: Settings, topic: str) -> dict[str, str]:
    """Configs a topic is created with. The pages topic is also the store of
    raw pages that `rasd reextract` reads again, so it is kept
    ``pages_retention_days`` (-1: for ever) instead of the broker's week.
    An existing topic keeps its configs (change them with kafka-configs.sh)."""
    configs = {"max.message.bytes": str(max_record_bytes(settings))}
    if topic == settings.topic_pages:
        days = settings.pages_retention_days
        configs["retention.ms"] = "-1" if days < 0 else str(int(days * 86_400_000))
    return configs


def ensure_topics(settings: Settings, timeout_s: float = 60.0) -> None:
    """Create the pipeline's topics if missing, and wait until they have leaders."""
    admin = KafkaAdminClient(**kafka_client_kwargs(settings), client_id="rasd-admin")
    try:
        partitions = topic_partitions(settings)
        wanted = list(partitions)
        existing = set(admin.list_topics())
        new = [
            NewTopic(
                name=t,
                num_partitions=partitions[t],
                replication_factor=1,
                topic_configs=topic_configs(settings, t),
            )
            for t in wanted
            if t not in existing
        ]
        if new:
            try:
                admin.create_topics(new)
            except TopicAlreadyExistsError:
                pass
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                described = {d["name"]: d for d in admin.describe_topics(wanted)}
            except KafkaError:  # metadata not propagated yet: ask again
                described = {}
            ready = all(
                t in described
                and not described[t].get("error_code")
                and described[t]["partitions"]
                and all(p["leader_id"] >= 0 for p in described[t]["partitions"])
                for t in wanted
            )
            if ready:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"topics not ready after {timeout_s}s: {wanted}")
            time.sleep(0.2)
    finally:
        admin.close()


def make_producer(settings: Settings, client_id: str, transactional_id: str | None = None) -> KafkaProducer:
    """A producer with the pipeline's limits; with ``transactional_id``, a
    transactional one (see ``ingest.kafka_transactions``)."""
    transactional = {"transactional_id": transactional_id,
                     "transaction_timeout_ms": settings.kafka_transaction_timeout_ms} if transactional_id else {}
    return KafkaProducer(
        **kafka_client_kwargs(settings),
        **transactional,
        client_id=client_id,
        acks="all",
        linger_ms=20,
        # zstd: kafka-python's gzip runs at level 9 on every record batch,
        # several times the CPU for a similar ratio (zstandard is installed)
        compression_type="zstd",
        # kafka-python's 16 KiB batches hold one or two articles: every send
        # then woke the I/O thread and made a request of its own. A batch is
        # measured uncompressed, so one within the record limit always fits.
        batch_size=min(_PRODUCER_BATCH_BYTES, max_record_bytes(settings)),
        max_request_size=max_record_bytes(settings),
        retries=10,
    )


class NotAcknowledged(RuntimeError):
    """Outputs of a batch that Kafka did not acknowledge: the batch must not
    be committed. ``transient``: every failure was one Kafka marks retriable
    (broker away, timeouts, leader moves), so the same batch can be sent
    again later; otherwise the broker refused the records themselves."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


class Publisher:
    """Sends contract models and remembers failures so a stage can refuse to
    commit its input when any of its outputs was not acknowledged."""

    def __init__(self, producer: KafkaProducer) -> None:
        self._producer = producer
        self._errors: list[BaseException] = []
        self._lock = threading.Lock()

    def send(self, topic: str, model: BaseModel, key: str | None = None) -> Any:
        """Send asynchronously; returns kafka-python's future (callbacks run
        in the producer's I/O thread once the broker acknowledged)."""
        future = self.send_raw(topic, encode(model), key)
        if isinstance(model, DeadLetter):
            # every stage's dead letters pass here: one place to count them
            DEAD_LETTERS.labels(model.stage, model.reason).inc()
        return future

    def send_raw(self, topic: str, value: bytes, key: str | None = None) -> Any:
        future = self._producer.send(topic, value=value, key=key.encode() if key else None)
        future.add_errback(self._record_error)
        return future

    def _record_error(self, exc: BaseException) -> None:
        with self._lock:
            self._errors.append(exc)
        log.error("kafka_send_failed", error=repr(exc))

    def flush(self, timeout_s: float = 60.0) -> None:
        """Block until every send is acknowledged; raise NotAcknowledged if
        any failed or some are still unacknowledged after ``timeout_s``."""
        try:
            self._producer.flush(timeout=timeout_s)
        except KafkaTimeoutError as exc:
            with self._lock:
                self._errors.clear()
            raise NotAcknowledged(f"Kafka send(s) not acknowledged within {timeout_s:g} s: {exc}", transient=True) from exc
        self.check()

    def check(self) -> None:
        """Raise NotAcknowledged if a send already failed, without waiting for
        those in flight (for callers that must not block, such as Scrapy's
        event loop)."""
        with self._lock:
            errors, self._errors = self._errors, []
        if errors:
            transient = all(self._retriable(e) for e in errors)
            raise NotAcknowledged(f"{len(errors)} Kafka send(s) failed, first: {errors[0]!r}", transient=transient)

    def _retriable(self, error: BaseException) -> bool:
        """Whether a failed send may succeed when sent again later."""
        return isinstance(error, KafkaError) and error.retriable

    def close(self, flush: bool = True) -> None:
        """Flush (unless the caller already failed) and close, bounded in time."""
        try:
            if flush:
                self.flush()
        finally:
            # bounded: after a failed flush, an unbounded close can wait forever
            self._producer.close(timeout=10)


def make_consumer(settings: Settings, topic: str | None, group_id: str | None, client_id: str) -> KafkaConsumer:
    """A consumer with the pipeline's limits; ``topic`` None: no subscription
    (the caller assigns partitions itself), ``group_id`` None: no group."""
    return KafkaConsumer(
        *([topic] if topic else []),
        **kafka_client_kwargs(settings),
        group_id=group_id,
        client_id=client_id,
        # one stage's consumer per process: the instance id names it within its group
        group_instance_id=f"{settings.kafka_instance_id}-{client_id}" if settings.kafka_instance_id and group_id else None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        # The stages commit their outputs in transactions: what a dead or
        # fenced batch sent (aborted) must never be read.
        isolation_level="read_committed",
        # A crashed worker's partitions move to a live one after this long
        # (kafka-python's default is 45 s).
        session_timeout_ms=10_000,
        heartbeat_interval_ms=3_000,
        max_poll_records=settings.batch_max_records,
        fetch_max_bytes=max(52_428_800, settings.kafka_max_message_bytes * 4),
        max_partition_fetch_bytes=max_record_bytes(settings),
        # A stalled indexer polls (partitions paused) while it waits, so this
        # bounds only one step of work, not a whole engine outage.
        max_poll_interval_ms=settings.kafka_max_poll_interval_ms,
    )

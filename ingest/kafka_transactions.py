"""A stage's outputs and its input offsets committed together, in one Kafka
transaction per batch (KIP-98, with KIP-447's group fencing).

Why: an at-least-once stage that dies between sending a batch's outputs and
committing its input sends them again after the restart. Ids make the
articles and documents harmless, but a dead letter sent twice is a second
entry about the same input. In a transaction, the outputs of a batch that
did not commit (a kill, Kafka away, a rebalance that took the partitions)
are aborted: consumers reading ``read_committed`` (every consumer of Rasd,
see ``ingest.kafka_io.make_consumer``) never see them, and the replay sends
them once.

kafka-python's ``commit_transaction`` and ``send_offsets_to_transaction``
wait without a bound; a stage must stay stoppable and its liveness honest
while Kafka is away, so this waits on the transaction manager's results with
a deadline, and a producer left in an unknown state is replaced. The
transactional id is ``<kafka_instance_id>-<client>`` when the worker has a
stable name (a restart then aborts the dead worker's open transaction at
once); otherwise a random one, and a dead worker's open transaction is
aborted by the broker after ``kafka_transaction_timeout_ms`` (consumers of
its partitions wait that long at most)."""
from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

import structlog
from kafka import KafkaProducer, TopicPartition
from kafka.errors import (
    AuthorizationError,
    CorruptRecordError,
    FencedInstanceIdError,
    InvalidRecordError,
    KafkaError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    ProducerFencedError,
    RecordListTooLargeError,
)
from kafka.structs import OffsetAndMetadata

from ingest.kafka_io import NotAcknowledged, Publisher, make_producer
from ingest.settings import Settings

log = structlog.get_logger(__name__)

# Failures a replay cannot mend: another live process holds this worker's
# name (going on would fence it back), the client is not allowed, or the
# broker refuses the records themselves. Anything else (Kafka away, a
# timeout, the group moved on during the batch) aborts the batch, which is
# then read and sent again.
_FINAL = (ProducerFencedError, FencedInstanceIdError, AuthorizationError, MessageSizeTooLargeError,
          RecordListTooLargeError, InvalidRecordError, CorruptRecordError)


def transactional_id(settings: Settings, client_id: str) -> str:
    if settings.kafka_instance_id:
        return f"{settings.kafka_instance_id}-{client_id}"
    return f"{client_id}-{uuid.uuid4().hex[:12]}"


class TransactionalPublisher(Publisher):
    """A ``Publisher`` whose sends between two ``commit`` calls form one
    transaction, committed with the input offsets given to ``commit``.
    Sends and the commit run on one thread at a time (the stage's batch)."""

    def __init__(self, settings: Settings, client_id: str) -> None:
        self._settings, self._client_id = settings, client_id
        self._timeout_ms = settings.kafka_transaction_timeout_ms
        # One id for every producer this publisher makes: a replacement's
        # init_transactions then aborts what the one it replaces left open
        # (otherwise readers would wait for the broker's transaction timeout).
        self._transactional_id = transactional_id(settings, client_id)
        super().__init__(self._new_producer())
        self._open = False
        self._opened_at = 0.0

    def _new_producer(self) -> KafkaProducer:
        producer = make_producer(self._settings, client_id=self._client_id, transactional_id=self._transactional_id)
        try:
            # also aborts what a dead predecessor under the same id left open
            producer.init_transactions()
        except Exception:
            producer.close(timeout=5)
            raise
        return producer

    def send_raw(self, topic: str, value: bytes, key: str | None = None) -> Any:
        self._begin()
        return super().send_raw(topic, value, key)

    def _begin(self) -> None:
        if self._producer is None:
            try:
                self._producer = self._new_producer()
            except KafkaError as exc:
                raise NotAcknowledged(f"Kafka unreachable, no transactional producer: {exc!r}",
                                      transient=exc.retriable or isinstance(exc, KafkaTimeoutError)) from exc
        if not self._open:
            self._producer.begin_transaction()
            self._open = True
            self._opened_at = time.monotonic()

    def flush(self, timeout_s: float = 60.0) -> None:
        if self._producer is not None:
            super().flush(timeout_s)

    def _wait(self, result: Any, what: str) -> None:
        self._producer._sender.wakeup()  # noqa: SLF001 - what the public methods do before their unbounded wait
        if not result.wait(timeout_ms=self._timeout_ms):
            raise KafkaTimeoutError(f"{what} not answered within {self._timeout_ms} ms")
        if result.failed:
            raise result.exception

    def commit(self, offsets: Mapping[TopicPartition, OffsetAndMetadata], group_metadata: Any) -> None:
        """Commit every output sent since the last commit and ``offsets``
        (the next input to read) for the group, atomically; or abort them
        and raise ``NotAcknowledged`` (transient unless another process
        holds this worker's name): the caller must then replay its input
        from the last commit."""
        try:
            self.flush()
            self._begin()  # a batch without outputs still moves its offsets
            manager = self._producer._transaction_manager  # noqa: SLF001 - bounded waits, see the module
            self._wait(manager.send_offsets_to_transaction(dict(offsets), group_metadata), "the offsets")
            self._wait(manager.begin_commit(), "the commit")
            self._open = False
            log.debug("batch_transaction_committed",
                      offsets={f"{tp.topic}/{tp.partition}": meta.offset for tp, meta in sorted(offsets.items())})
        except Exception as exc:
            # judged before the abort: a fence's cause depends on how long the transaction was open
            transient = exc.transient if isinstance(exc, NotAcknowledged) else self._retriable(exc)
            self._abandon(exc)
            raise NotAcknowledged(f"batch transaction not committed: {exc!r}", transient=transient) from exc

    def _retriable(self, error: BaseException) -> bool:
        if isinstance(error, ProducerFencedError) and self._fenced_by_timeout():
            return True
        return isinstance(error, KafkaError) and not isinstance(error, _FINAL)

    def _fenced_by_timeout(self) -> bool:
        """Whether a fence means the broker aborted this producer's
        transaction for outliving ``kafka_transaction_timeout_ms`` (it bumps
        the epoch: every later request is refused as fenced), not that
        another live process took this worker's name. A random transactional
        id has no twin; under a stable name, only a transaction open for
        longer than the timeout can have been aborted by the broker (Kafka
        away mid-batch). The replacement producer then starts a new epoch
        and the batch is replayed; a live twin fences its rival within the
        timeout, which stays final."""
        if not self._settings.kafka_instance_id:
            return True
        return self._open and time.monotonic() - self._opened_at >= self._timeout_ms / 1000

    def _abandon(self, exc: BaseException) -> None:
        """Abort the open transaction; if Kafka cannot be told (away, or
        the producer in an unknown state), replace the producer: its open
        transaction is then aborted by its successor or by the broker."""
        self._open = False
        if self._producer is None:
            return
        manager = self._producer._transaction_manager  # noqa: SLF001
        try:
            if not manager.has_fatal_error() and not manager.is_completing():
                self._wait(manager.begin_abort(), "the abort")
                log.warning("batch_transaction_aborted", error=repr(exc),
                            consequence="nothing of the batch is visible; it is read and sent again")
                return
        except Exception as abort_exc:  # noqa: BLE001 - any failure: start afresh
            log.debug("batch_transaction_abort_failed", error=repr(abort_exc))
        log.warning("batch_transaction_abandoned", error=repr(exc),
                    consequence="a new producer; the open transaction is aborted, the batch sent again")
        try:
            self._producer.close(timeout=5)
        except Exception:  # noqa: BLE001 - it is being replaced
            pass
        # made again on first use (Kafka may still be away now)
        self._producer = None  # type: ignore[assignment]

    def close(self, flush: bool = True) -> None:
        """Commit nothing more: a transaction still open is aborted (its
        input was not committed and is replayed), then close."""
        if self._producer is None:
            return
        if self._open:
            try:
                self._wait(self._producer._transaction_manager.begin_abort(), "the abort")  # noqa: SLF001
            except Exception as exc:  # noqa: BLE001 - closing anyway
                log.debug("batch_transaction_abort_on_close_failed", error=repr(exc))
            self._open = False
        self._producer.close(timeout=10)

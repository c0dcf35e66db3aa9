"""The consume loops every stage runs: poll a batch, handle it, commit its
offsets only once its outputs are acknowledged (at-least-once; idempotent
writes downstream make replays harmless).

Two shapes, one loop: ``run_batches`` handles a batch on the calling thread
and commits it; ``run_overlapped_batches`` splits a batch in a CPU-bound
head (``prepare``, on the calling thread) and a slow tail (``finish``: store
round trips, waiting for Kafka's acknowledgements) that runs on a helper
thread while the next batch is polled and prepared. Either way batches are
committed in the order they were polled, a commit never covers a record
whose outputs were not acknowledged, and at most one batch is in flight, so
``finish`` sees the batches one at a time, in order (the shared stores
learn from one batch before the next is cleaned against them).

Why not Kafka's rebalance listener to settle the batch in flight before
partitions move: kafka-python runs the listener on its I/O loop, where a
blocking wait would stop heartbeats. Instead, once the heartbeat has
learnt that the group is rebalancing, the loop finishes and commits the
batch in flight before its next poll rejoins (``rebalance_pending``), so
a join or a departure normally replays nothing. What is left is handled by
what a commit means: it only ever covers finished records, so committing
after the partitions moved is harmless (the new owner replays at most what
it had not seen committed), and a commit the group refuses because it is
rebalancing or has moved on (``RebalanceInProgressError``,
``CommitFailedError``) is skipped: the next commit on a partition the
worker still owns covers those records too, and one it no longer owns is
replayed from the last commit by its new owner, which the pipeline's
document ids make harmless.

A stage whose outputs go to Kafka commits instead inside the transaction of
those outputs (``commits=False``; ``ingest.kafka_transactions``): there a
refused commit aborts the outputs too, so it fails the batch, which is
rewound and replayed like any batch Kafka did not take."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, TypedDict, TypeVar, Unpack

import structlog
from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import CommitFailedError, IllegalStateError, KafkaError, RebalanceInProgressError
from kafka.structs import OffsetAndMetadata

from ingest.kafka_io import NotAcknowledged

log = structlog.get_logger(__name__)

P = TypeVar("P")

# Waiting for Kafka to come back: the first retry after a second, then
# doubling up to 10 s (a retry costs one poll, and a stage should be back
# within seconds of Kafka); a warning at the first failure, then once a minute.
OUTAGE_FIRST_S = 1.0
OUTAGE_MAX_S = 10.0
OUTAGE_LOG_EVERY_S = 60.0
# While a batch is finishing, how often the loop looks for new records to
# prepare beside it.
OVERLAP_POLL_S = 0.02


@dataclass
class LoopStats:
    batches: int = 0
    records: int = 0


def next_offsets(records: Iterable[ConsumerRecord]) -> dict[TopicPartition, OffsetAndMetadata]:
    """Offsets to commit after ``records`` are fully processed: last + 1 per partition."""
    offsets: dict[TopicPartition, OffsetAndMetadata] = {}
    for r in records:
        tp = TopicPartition(r.topic, r.partition)
        if tp not in offsets or offsets[tp].offset <= r.offset:
            offsets[tp] = OffsetAndMetadata(r.offset + 1, None, -1)
    return offsets


def consumed_offsets(consumer: KafkaConsumer, records: Iterable[ConsumerRecord]) -> dict[TopicPartition, OffsetAndMetadata]:
    """``next_offsets``, moved on to the consumer's position where it is
    further: past the commit markers of a transactional input, which take an
    offset each and are never returned as records (a group committed at
    ``last + 1`` would show a lag of one for ever, and never reach the end
    offset). Only for a consumer that returned no record after ``records``."""
    offsets = next_offsets(records)
    for tp, meta in offsets.items():
        position = consumer.position(tp)
        if position is not None and position > meta.offset:
            offsets[tp] = OffsetAndMetadata(position, None, -1)
    return offsets


def _by_partition(offsets: dict[TopicPartition, int]) -> dict[str, int]:
    """Offsets keyed ``topic/partition``, for a log line."""
    return {f"{tp.topic}/{tp.partition}": offset for tp, offset in sorted(offsets.items())}


def caught_up(consumer: KafkaConsumer, end_offsets: dict[TopicPartition, int]) -> bool:
    """Whether the consumer reached the end offsets its partitions had when
    first seen here (``end_offsets`` is filled as partitions are assigned)."""
    assigned = consumer.assignment()
    if not assigned:
        return False
    missing = [tp for tp in assigned if tp not in end_offsets]
    if missing:
        end_offsets.update(consumer.end_offsets(missing))
    return all(consumer.position(tp) >= end_offsets[tp] for tp in assigned)


class LoopOptions(TypedDict, total=False):
    """The keyword options both loops take (meanings: ``run_batches``)."""

    stop: threading.Event | None
    idle_exit_s: float | None
    max_batches: int | None
    until_end: bool
    on_batch: Callable[[LoopStats], None] | None
    batch_max_s: float | None
    tick: Callable[[], None] | None
    commits: bool


def run_batches(
    consumer: KafkaConsumer,
    handle_batch: Callable[[Sequence[ConsumerRecord]], None],
    *,
    poll_timeout_ms: int,
    **options: Unpack[LoopOptions],
) -> LoopStats:
    """Poll, hand each batch to ``handle_batch``, then commit.

    ``handle_batch`` must return only once every output of the batch is
    acknowledged downstream and raise otherwise: an exception leaves the
    batch uncommitted, so a restarted worker processes it again.
    ``idle_exit_s`` ends the loop after that long without records (batch
    runs and tests); None runs until ``stop`` is set. ``max_batches`` stops
    after that many committed batches. ``until_end`` stops once the consumer
    has caught up with the end offsets its partitions had when they were
    assigned (drain what is there, then return: batch runs and the demo).
    ``batch_max_s`` bounds a batch in time as well: once batches are seen
    to take longer, fewer records are taken at once (see ``_Pace``).
    ``tick`` is called on every turn of the loop (liveness, metrics).
    ``commits`` False: the batch handler commits the offsets itself, in the
    transaction of its outputs (``ingest.kafka_transactions``); a failed
    commit there is an exception like any other, and the batch is replayed.
    """
    return _loop(consumer, handle_batch, None, poll_timeout_ms=poll_timeout_ms, **options)


def run_overlapped_batches(
    consumer: KafkaConsumer,
    prepare: Callable[[Sequence[ConsumerRecord]], P],
    finish: Callable[[P], None],
    *,
    poll_timeout_ms: int,
    **options: Unpack[LoopOptions],
) -> LoopStats:
    """Poll; ``prepare`` each batch on this thread, then ``finish`` it on a
    helper thread while the next batch is polled and prepared; commit a
    batch once its ``finish`` returned. An exception from either ends the
    loop with that batch (and any later one) uncommitted. The other
    arguments mean what they mean for ``run_batches``."""
    return _loop(consumer, prepare, finish, poll_timeout_ms=poll_timeout_ms, **options)


@dataclass(frozen=True)
class _InFlight:
    future: Future[None]
    records: Sequence[ConsumerRecord]


def _done() -> Future[None]:
    future: Future[None] = Future()
    future.set_result(None)
    return future


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` means Kafka was away or slow rather than that the
    batch itself is bad: the same batch can then be tried again."""
    if isinstance(exc, NotAcknowledged):
        return exc.transient
    return isinstance(exc, KafkaError) and (exc.retriable or isinstance(exc, (CommitFailedError, IllegalStateError)))


def rebalance_pending(consumer: KafkaConsumer) -> bool:
    """The group is rebalancing and this member's next poll will rejoin it.
    kafka-python has no public signal for it (the Java client's is a
    rebalance listener that may block; kafka-python runs listeners on its
    I/O loop, see above), so this reads its coordinator's flag, set by the
    heartbeat that learnt of the rebalance; a client without one says no.
    Only a member of a group that shares out partitions asks: the flag stays
    set on a consumer that never joins one (no group, partitions assigned
    by hand)."""
    if consumer.config.get("group_id") is None or not consumer.subscription() or not consumer.assignment():
        return False
    coordinator = getattr(consumer, "_coordinator", None)
    return bool(getattr(coordinator, "rejoin_needed", False))


def rewind(consumer: KafkaConsumer, records: Iterable[ConsumerRecord]) -> dict[TopicPartition, int]:
    """Seek each partition of ``records`` this consumer still owns back to
    its first record there: the next polls return them again. Partitions
    it lost are replayed from their last commit by their new owner."""
    first: dict[TopicPartition, int] = {}
    for r in records:
        tp = TopicPartition(r.topic, r.partition)
        first[tp] = min(first.get(tp, r.offset), r.offset)
    owned = consumer.assignment()
    for tp, offset in first.items():
        if tp in owned:
            consumer.seek(tp, offset)
    return first


def _loop(
    consumer: KafkaConsumer,
    prepare: Callable[[Sequence[ConsumerRecord]], Any],
    finish: Callable[[Any], None] | None,
    *,
    poll_timeout_ms: int,
    stop: threading.Event | None = None,
    idle_exit_s: float | None = None,
    max_batches: int | None = None,
    until_end: bool = False,
    on_batch: Callable[[LoopStats], None] | None = None,
    batch_max_s: float | None = None,
    tick: Callable[[], None] | None = None,
    commits: bool = True,
) -> LoopStats:
    """``finish`` None: ``prepare`` does the whole batch, committed at once."""
    stats = LoopStats()
    stop = stop or threading.Event()
    last_record = time.monotonic()
    end_offsets: dict[TopicPartition, int] = {}
    in_flight: _InFlight | None = None
    # polled, not yet handed to ``finish`` (replayed if Kafka goes away now)
    current: Sequence[ConsumerRecord] = ()
    helper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="batch-finish") if finish else None
    outage = _Outage()
    pace = _Pace(batch_max_s, consumer.config["max_poll_records"])
    idle = _IdleCommit(consumer)

    def timed_finish(prepared: Any, records: int, prepare_s: float) -> None:
        assert finish is not None
        started_at = time.monotonic()
        finish(prepared)
        # from the poll to the commit: both halves
        pace.spent(records, prepare_s + time.monotonic() - started_at)

    def commit(records: Sequence[ConsumerRecord]) -> None:
        try:
            consumer.commit(offsets=next_offsets(records))
        except (CommitFailedError, RebalanceInProgressError) as exc:
            log.warning("batch_commit_refused", records=len(records), error=str(exc),
                        consequence="a later commit covers the batch, or its partitions' new owner replays it")
        except KafkaError as exc:
            if not is_transient(exc):
                raise
            # the broker or the group coordinator is away: same consequence
            log.warning("batch_commit_failed", records=len(records), error=repr(exc),
                        consequence="a later commit covers the batch, or it is replayed")

    def settle() -> None:
        nonlocal in_flight
        if in_flight is None:
            return
        # raises if the batch failed: it stays in flight for recover()
        in_flight.future.result()
        done, in_flight = in_flight, None
        if commits:
            commit(done.records)
        idle.batch_done()
        stats.batches += 1
        stats.records += len(done.records)
        outage.over()
        if on_batch:
            on_batch(stats)

    def recover(exc: BaseException) -> None:
        """Kafka went away during a batch: the batches not committed are
        read again once it answers (their outputs may go out twice: every
        output is keyed or idempotent)."""
        nonlocal in_flight, current
        replay = list(current)
        current = ()
        if in_flight is not None:
            try:
                settle()
            except Exception:  # noqa: BLE001 - any failure of that batch means: replay it too
                replay = list(in_flight.records) + replay
                in_flight = None
        try:
            first = rewind(consumer, replay)
            log.debug("batch_rewound", first=_by_partition(first),
                      assigned=sorted(tp.partition for tp in consumer.assignment()))
        except KafkaError as rewind_exc:  # the assignment is being revoked: its new owner replays
            log.debug("batch_rewind_skipped", error=repr(rewind_exc))
        outage.wait(exc, len(replay), stop)

    def started() -> int:
        return stats.batches + (in_flight is not None)

    try:
        while not stop.is_set() and (max_batches is None or started() < max_batches):
            if tick:
                tick()
            try:
                if until_end and in_flight is None and caught_up(consumer, end_offsets):
                    # Drained: a poll would wait out its whole timeout for
                    # records that are not coming (a second at the end of
                    # every drain run).
                    idle.idle()
                    break
                if in_flight is not None and rebalance_pending(consumer):
                    # The poll would rejoin the group now, and the batch in
                    # flight would then be handed over uncommitted and done again
                    # by its partitions' new owner. The group waits for this
                    # member (up to max_poll_interval), and a commit while it
                    # prepares the rebalance still counts.
                    settle()
                    continue
                # With a batch in flight, take only what is already fetched: waiting
                # here would delay that batch's commit for nothing.
                polled = consumer.poll(timeout_ms=0 if in_flight else poll_timeout_ms, max_records=pace.records())
                current = [r for part in polled.values() for r in part]
                if not current:
                    if in_flight is not None:
                        if in_flight.future.done():
                            settle()
                        else:
                            # Still finishing: look again for records to prepare
                            # meanwhile rather than wait for it idle (a record that
                            # arrives now would otherwise wait for the whole batch
                            # before its own extraction even starts).
                            wait([in_flight.future], timeout=OVERLAP_POLL_S)
                        continue
                    idle.idle()
                    if idle_exit_s is not None and time.monotonic() - last_record >= idle_exit_s:
                        break
                    if until_end and caught_up(consumer, end_offsets):
                        break
                    continue
                last_record = time.monotonic()
                prepared = prepare(current)
                prepare_s = time.monotonic() - last_record
                settle()
                if helper is None:
                    pace.spent(len(current), prepare_s)
                in_flight = _InFlight(helper.submit(timed_finish, prepared, len(current), prepare_s) if helper else _done(),
                                      current)
                current = ()
                if helper is None:
                    settle()
            except Exception as exc:
                if not is_transient(exc):
                    raise
                recover(exc)
        while in_flight is not None:
            try:
                settle()
            except Exception as exc:
                if not is_transient(exc) or stop.is_set():
                    raise
                recover(exc)
    finally:
        if in_flight is not None:
            # Leaving on an error: let the helper end before the caller closes
            # what it uses; the batch stays uncommitted.
            try:
                in_flight.future.result()
            except Exception:
                log.debug("batch_in_flight_abandoned", records=len(in_flight.records))
        if helper is not None:
            helper.shutdown(wait=True)
    return stats


class _IdleCommit:
    """Moves the group's offsets to the consumer's positions once the loop
    is idle after a batch (nothing polled, nothing in flight): on an input
    written in transactions, each commit marker takes an offset and is never
    returned as a record, so the last batch's offsets stop short of the
    markers after it; the group would show a lag for ever and never reach
    the end offsets. Only then is every position covered by handled records."""

    def __init__(self, consumer: KafkaConsumer) -> None:
        self.consumer = consumer
        self.due = True

    def batch_done(self) -> None:
        self.due = True

    def idle(self) -> None:
        if not self.due:
            return
        self.due = False
        offsets: dict[TopicPartition, OffsetAndMetadata] = {}
        try:
            for tp in self.consumer.assignment():
                position = self.consumer.position(tp)
                if position is not None:
                    offsets[tp] = OffsetAndMetadata(position, None, -1)
            if offsets:
                self.consumer.commit(offsets=offsets)
                log.debug("idle_committed", offsets=_by_partition({tp: m.offset for tp, m in offsets.items()}))
        except KafkaError as exc:  # a later idle moment tries again
            self.due = True
            log.debug("idle_commit_skipped", error=repr(exc))


class _Pace:
    """How many records a poll takes, so that a batch lasts about
    ``max_s``: a batch is committed (and its progress seen) at least that
    often even when each record is slow (a struggling store, huge pages).
    Seconds per record are a moving average over batches (both halves of
    an overlapped batch, from its poll to its commit); until a batch was timed, and without ``max_s``,
    the consumer's ``max_poll_records``."""

    def __init__(self, max_s: float | None, max_records: int) -> None:
        self.max_s, self.max_records = max_s, max_records
        self._per_record: float | None = None

    def spent(self, records: int, seconds: float) -> None:
        if records <= 0:
            return
        rate = seconds / records
        self._per_record = rate if self._per_record is None else 0.7 * self._per_record + 0.3 * rate

    def records(self) -> int:
        if self.max_s is None or not self._per_record:
            return self.max_records
        return max(1, min(self.max_records, int(self.max_s / self._per_record)))


class _Outage:
    """Waiting out Kafka: capped exponential backoff between attempts, a
    warning for the first failure and then at most one a minute."""

    def __init__(self) -> None:
        self.first_s, self.max_s, self.log_every_s = OUTAGE_FIRST_S, OUTAGE_MAX_S, OUTAGE_LOG_EVERY_S
        self.attempts = 0
        self.since: float | None = None
        self._logged_at = 0.0

    def wait(self, exc: BaseException, replayed: int, stop: threading.Event) -> None:
        now = time.monotonic()
        if self.since is None:
            self.since = now
        self.attempts += 1
        delay = min(self.max_s, self.first_s * 2 ** (self.attempts - 1))
        if self.attempts == 1 or now - self._logged_at >= self.log_every_s:
            self._logged_at = now
            log.warning("batch_not_delivered", error=repr(exc), records_to_replay=replayed, attempts=self.attempts,
                        waiting_s=round(now - self.since, 1), retry_in_s=delay,
                        consequence="the batch is read and handled again once Kafka answers")
        stop.wait(delay)

    def over(self) -> None:
        if self.since is not None:
            log.info("batch_delivered_again", after_s=round(time.monotonic() - self.since, 1), attempts=self.attempts)
        self.since, self.attempts = None, 0

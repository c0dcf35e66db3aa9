"""A consume loop whose batches overlap: while one batch's slow tail (store
round trips, waiting for Kafka to acknowledge its outputs) runs on a helper
thread, the next batch's CPU-bound head runs on the calling thread.

The guarantees are those of ``kafka_io.run_batches``: a batch's offsets are
committed only after its ``finish`` returned, and batches are finished and
committed in the order they were polled, so a commit never covers a record
whose outputs were not acknowledged. At most one batch is in flight, so
``finish`` sees the batches one at a time, in order (the shared stores learn
from one batch before the next is cleaned against them).

Why not Kafka's rebalance listener to settle the batch in flight before
partitions move: kafka-python runs the listener on its I/O loop, where a
blocking wait would stop heartbeats. A rebalance is handled instead by
what a commit means: it only ever covers finished records, so committing
after the partitions moved is harmless (the new owner replays at most what
it had not seen committed), and a commit the group refuses because it is
rebalancing or has moved on (``RebalanceInProgressError``,
``CommitFailedError``) is skipped: the next commit on a partition the
worker still owns covers those records too, and one it no longer owns is
replayed from the last commit by its new owner, which the pipeline's
document ids make harmless."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import structlog
from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import CommitFailedError, RebalanceInProgressError

from ingest.kafka_io import LoopStats, caught_up, next_offsets

log = structlog.get_logger(__name__)

P = TypeVar("P")


@dataclass(frozen=True)
class _InFlight:
    future: Future[None]
    records: Sequence[ConsumerRecord]


def run_overlapped_batches(
    consumer: KafkaConsumer,
    prepare: Callable[[Sequence[ConsumerRecord]], P],
    finish: Callable[[P], None],
    *,
    poll_timeout_ms: int,
    stop: threading.Event | None = None,
    idle_exit_s: float | None = None,
    max_batches: int | None = None,
    until_end: bool = False,
    on_batch: Callable[[LoopStats], None] | None = None,
) -> LoopStats:
    """Poll; ``prepare`` each batch on this thread, then ``finish`` it on a
    helper thread while the next batch is polled and prepared; commit a
    batch once its ``finish`` returned. An exception from either ends the
    loop with that batch (and any later one) uncommitted. The arguments
    mean what they mean for ``kafka_io.run_batches``."""
    stats = LoopStats()
    stop = stop or threading.Event()
    last_record = time.monotonic()
    end_offsets: dict[TopicPartition, int] = {}
    in_flight: _InFlight | None = None
    helper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="batch-finish")

    def settle() -> None:
        nonlocal in_flight
        if in_flight is None:
            return
        done, in_flight = in_flight, None
        done.future.result()
        try:
            consumer.commit(offsets=next_offsets(done.records))
        except (CommitFailedError, RebalanceInProgressError) as exc:
            log.warning("batch_commit_refused", records=len(done.records), error=str(exc),
                        consequence="a later commit covers the batch, or its partitions' new owner replays it")
        stats.batches += 1
        stats.records += len(done.records)
        if on_batch:
            on_batch(stats)

    def started() -> int:
        return stats.batches + (in_flight is not None)

    try:
        while not stop.is_set() and (max_batches is None or started() < max_batches):
            # With a batch in flight, take only what is already fetched: waiting
            # here would delay that batch's commit for nothing.
            polled = consumer.poll(timeout_ms=0 if in_flight else poll_timeout_ms)
            records = [r for part in polled.values() for r in part]
            if not records:
                if in_flight is not None:
                    settle()
                    continue
                if idle_exit_s is not None and time.monotonic() - last_record >= idle_exit_s:
                    break
                if until_end and caught_up(consumer, end_offsets):
                    break
                continue
            last_record = time.monotonic()
            prepared = prepare(records)
            settle()
            in_flight = _InFlight(helper.submit(finish, prepared), records)
        settle()
    finally:
        if in_flight is not None:
            # Leaving on an error: let the helper end before the caller closes
            # what it uses; the batch stays uncommitted.
            try:
                in_flight.future.result()
            except Exception:
                log.debug("batch_in_flight_abandoned", records=len(in_flight.records))
        helper.shutdown(wait=True)
    return stats

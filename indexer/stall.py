"""Waiting out an engine that cannot take writes (429, 5xx, down, timeouts).

The indexer waits in its own process for as long as the engine needs: a
restart would only replay the same batch against the same struggling engine.
While it waits it stays a live member of its consumer group (its partitions
are paused and the consumer is polled between attempts, so a long outage
does not exceed ``max_poll_interval_ms``), says so in the log at a bounded
rate, and shows the stall in its stats.

Hand-written rather than tenacity (not installed, and its loop would not
fit): between attempts the consumer must be polled and the stop event
watched, and only the failed part of the work is tried again."""
from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Protocol

import structlog
from kafka import KafkaConsumer, TopicPartition

from indexer.metrics import STALLED

log = structlog.get_logger(__name__)

# The consumer is polled at least this often while waiting: far below any
# sensible max_poll_interval_ms, and often enough to notice a stop quickly.
_KEEPALIVE_S = 1.0


class IndexingStopped(RuntimeError):
    """The stop event was set while waiting for the engine; the batch stays
    uncommitted and is indexed again by the next indexer."""


class StallStats(Protocol):
    stalled_since: datetime | None
    stall_reason: str | None
    stall_seconds: float
    stalls: int


def backoff_delay(attempt: int, initial_s: float, max_s: float, rng: random.Random | None = None) -> float:
    """Seconds to wait after failed attempt ``attempt`` (1-based): doubling
    from ``initial_s``, capped at ``max_s``, with +-20% jitter so several
    indexers do not hit a recovering engine in step."""
    base = min(max_s, initial_s * 2 ** min(attempt - 1, 60))
    return min(max_s, base * (rng or random).uniform(0.8, 1.2))


class GroupKeeper:
    """Keeps a group consumer alive while its batch cannot progress."""

    def __init__(self, consumer: KafkaConsumer | None) -> None:
        self._consumer = consumer

    def pause(self) -> None:
        if self._consumer is not None:
            self._consumer.pause(*self._consumer.assignment())

    def keep_alive(self) -> None:
        """Poll without taking records: the poll is what tells kafka-python's
        heartbeat thread the consumer is alive (max_poll_interval_ms)."""
        consumer = self._consumer
        if consumer is None:
            return
        polled = consumer.poll(timeout_ms=0)
        if polled:
            # Only after a rebalance handed over partitions that are not
            # paused yet: give the records back, they were not processed.
            for tp, records in polled.items():
                consumer.seek(tp, min(r.offset for r in records))
            consumer.pause(*polled)
        # partitions assigned by a rebalance start unpaused
        unpaused = set(consumer.assignment()) - set(consumer.paused())
        if unpaused:
            consumer.pause(*unpaused)

    def resume(self) -> None:
        if self._consumer is not None:
            paused: set[TopicPartition] = set(self._consumer.paused())
            if paused:
                self._consumer.resume(*paused)


class Stall:
    """One stretch of retryable failures of one step (bulk, percolate, alerts)."""

    def __init__(
        self,
        step: str,
        engine: str,
        *,
        initial_s: float,
        max_s: float,
        log_interval_s: float,
        stats: StallStats,
        keeper: GroupKeeper,
        stop: threading.Event,
        tick: Callable[[], None] | None = None,
    ) -> None:
        self._step = step
        self._engine = engine
        self._initial_s = initial_s
        self._max_s = max_s
        self._log_interval_s = log_interval_s
        self._stats = stats
        self._keeper = keeper
        self._stop = stop
        # the process is alive while it waits: liveness keeps ticking, the
        # stall shows in rasd_index_stalled instead
        self._tick = tick
        self._started: float | None = None
        self._attempts = 0
        self._next_log = 0.0

    def wait(self, reason: str, pending: int | None = None) -> None:
        """Record a failed attempt and wait before the next one. Raises
        ``IndexingStopped`` if the stop event is set meanwhile."""
        now = time.monotonic()
        if self._started is None:
            self._started = now
            self._stats.stalled_since = datetime.now(timezone.utc)
            self._stats.stalls += 1
            self._keeper.pause()
            STALLED.labels(self._engine, self._step).set(1)
        self._attempts += 1
        self._stats.stall_reason = f"{self._step}: {reason}"
        delay = backoff_delay(self._attempts, self._initial_s, self._max_s)
        if now >= self._next_log:
            self._next_log = now + self._log_interval_s
            log.warning(
                "index_stalled",
                step=self._step,
                engine=self._engine,
                stalled_s=round(now - self._started, 1),
                attempts=self._attempts,
                pending=pending,
                reason=reason,
                next_attempt_in_s=round(delay, 2),
            )
        self._sleep(delay)

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while True:
            self._keeper.keep_alive()
            if self._tick is not None:
                self._tick()
            left = deadline - time.monotonic()
            if self._stop.wait(min(max(left, 0.0), _KEEPALIVE_S)):
                raise IndexingStopped(f"stopped while {self._step} waited for {self._engine}; batch left uncommitted")
            if left <= _KEEPALIVE_S:
                return

    def end(self) -> None:
        """The step went through: account for the stall, resume the partitions."""
        if self._started is None:
            return
        seconds = time.monotonic() - self._started
        self._stats.stall_seconds += seconds
        self._stats.stalled_since = None
        self._stats.stall_reason = None
        self._keeper.resume()
        STALLED.labels(self._engine, self._step).set(0)
        log.info("index_stall_over", step=self._step, engine=self._engine, stalled_s=round(seconds, 1),
                 attempts=self._attempts)
        self._started = None


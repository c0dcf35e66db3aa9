"""Progress lines of the commands that run for a while and then end (`rasd
demo`, the benchmarks, `rasd reextract`, one-pass crawls): every
``progress_interval_s`` one ``progress`` line with the task, the count so far,
the rate over the last interval and, where the total is known, the share done
and an estimate of the time left.

Services (`rasd ingest`, `rasd index`, `rasd crawl`) log per batch instead."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import structlog

from ingest.logs import progress_logger

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Snapshot:
    """A task's counts at one moment: ``done`` of ``total`` (None: not known
    in advance) and other counts shown beside them (errors, queued...)."""

    done: int
    total: int | None = None
    extra: Mapping[str, object] = field(default_factory=dict)


class RateMeter:
    """Turns successive snapshots of one task into a progress line's fields."""

    def __init__(self, unit: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.unit = unit
        self._clock = clock
        self._started = clock()
        self._last = (self._started, 0)

    def fields(self, snap: Snapshot) -> dict[str, object]:
        now = self._clock()
        last_at, last_done = self._last
        self._last = (now, snap.done)
        elapsed = now - self._started
        rate = (snap.done - last_done) / (now - last_at) if now > last_at else 0.0
        out: dict[str, object] = {self.unit: snap.done}
        if snap.total is not None:
            out["of"] = snap.total
        out.update(snap.extra)
        out["per_s"] = round(rate, 1)
        out["elapsed_s"] = round(elapsed, 1)
        if snap.total:
            remaining = max(snap.total - snap.done, 0)
            out["pct"] = round(100 * (snap.total - remaining) / snap.total, 1)
            # the last interval's rate follows a stage that speeds up after its
            # start; a pause (rate 0) falls back to the average so far
            speed = rate if rate > 0 else (snap.done / elapsed if elapsed > 0 else 0.0)
            if speed > 0:
                out["eta_s"] = round(remaining / speed)
        return out


class Progress:
    """While the ``with`` block runs, logs ``task``'s progress every
    ``interval_s`` (0: never) from a thread, asking ``sample`` for the counts."""

    def __init__(self, task: str, sample: Callable[[], Snapshot], interval_s: float, unit: str = "pages") -> None:
        self.task = task
        self.sample = sample
        self.interval_s = interval_s
        self.meter = RateMeter(unit)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Progress:
        if self.interval_s > 0 and self._thread is None:
            self.meter = RateMeter(self.meter.unit)  # elapsed counts from here, not from construction
            self._thread = threading.Thread(target=self._run, name=f"progress-{self.task}", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Idempotent: a ``finally`` may call it after the work stopped it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> Progress:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                snap = self.sample()
            except Exception as exc:  # counts read while a worker updates them: the next line will do
                log.debug("progress_sample_failed", task=self.task, error=repr(exc))
                continue
            log_progress(self.task, self.meter.fields(snap))


def log_progress(task: str, fields: Mapping[str, Any]) -> None:
    progress_logger().info("progress", task=task, **fields)

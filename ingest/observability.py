"""Metrics and health of a long-running process, shared by every stage.

One small HTTP server per process (when ``metrics_port`` is set) serves
Prometheus' ``/metrics`` from the default registry (each stage defines its
own metrics in its ``metrics`` module), ``/healthz``: 200 while the
process's work loop turned within ``liveness_stale_s``, 503 with a JSON
reason once it did not, and ``/readyz`` (``ingest.readiness``): 200 once the
loop has started and Kafka (and the engine, where the process uses one)
answer, 503 with the reason otherwise. Liveness is about the loop itself: an indexer
waiting out an engine outage still turns it (the stall shows in
``rasd_index_stalled``), a worker stuck in a call does not.

The metrics every stage shares live here: dead letters by stage and reason
(counted where every dead letter is sent, ``Publisher.send``), Kafka
consumer lag per group and partition, liveness."""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import structlog
from kafka import KafkaConsumer, TopicPartition
from prometheus_client import Counter, Gauge, make_wsgi_app

from ingest.logs import bind_process
from ingest.readiness import Readiness, probes
from ingest.settings import Settings

log = structlog.get_logger(__name__)

DEAD_LETTERS = Counter("rasd_dead_letters", "Dead letters sent, by stage and reason", ["stage", "reason"])
CONSUMER_LAG = Gauge(
    "rasd_kafka_consumer_lag",
    "Records not yet consumed (end offset - position) per consumer group and partition, as this process sees them",
    ["group", "topic", "partition"],
)
_LIVENESS = Gauge("rasd_liveness", "1 while the process's work loop turned within liveness_stale_s, else 0")
_SINCE_TICK = Gauge("rasd_loop_seconds_since_tick", "Seconds since the process's work loop last turned")

# Broker round trips for the lag are bounded: the loop must not wait on them.
_LAG_TIMEOUT_MS = 2000


class Liveness:
    """Whether a work loop still turns: ``tick()`` every turn; stale after
    ``stale_after_s`` without one."""

    def __init__(self, stale_after_s: float) -> None:
        self.stale_after_s = stale_after_s
        self._last = time.monotonic()
        self._started = False

    def tick(self) -> None:
        self._last = time.monotonic()
        self._started = True

    def started(self) -> bool:
        """The loop has turned at least once (readiness)."""
        return self._started

    def seconds_since_tick(self) -> float:
        return time.monotonic() - self._last

    def live(self) -> bool:
        return self.seconds_since_tick() <= self.stale_after_s

    def report(self) -> dict[str, Any]:
        since = round(self.seconds_since_tick(), 3)
        body: dict[str, Any] = {"live": self.live(), "seconds_since_tick": since, "stale_after_s": self.stale_after_s}
        if not body["live"]:
            body["reason"] = f"the work loop has not turned for {since:.0f} s (limit {self.stale_after_s:g} s)"
        return body


# The process's liveness, read by the gauges at scrape time (one per process;
# the newest one when a test runs several in turn).
_current: Liveness | None = None
_LIVENESS.set_function(lambda: 1.0 if _current is None or _current.live() else 0.0)
_SINCE_TICK.set_function(lambda: 0.0 if _current is None else _current.seconds_since_tick())


class ConsumerLag:
    """Sets ``rasd_kafka_consumer_lag`` for the partitions a consumer holds,
    at most every ``interval_s`` (it costs the broker a request). Call it
    from the consumer's own thread: kafka-python consumers are not
    thread-safe. Never raises: a lag that cannot be measured now (broker
    away) is measured next time."""

    def __init__(self, group: str, interval_s: float) -> None:
        self.group = group
        self.interval_s = interval_s
        self._next = 0.0
        self._shown: set[TopicPartition] = set()

    def update(self, consumer: KafkaConsumer, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now < self._next:
            return
        self._next = now + self.interval_s
        try:
            assigned = list(consumer.assignment())
            ends = consumer.end_offsets(assigned, timeout_ms=_LAG_TIMEOUT_MS) if assigned else {}
            lags = {tp: max(0, end - consumer.position(tp, timeout_ms=_LAG_TIMEOUT_MS)) for tp, end in ends.items()}
        except Exception as exc:  # noqa: BLE001 - a metric must never stop the loop
            log.debug("consumer_lag_unmeasured", group=self.group, error=repr(exc))
            return
        self._show(lags)

    def _show(self, lags: dict[TopicPartition, int]) -> None:
        for tp in self._shown - set(lags):  # partitions handed to another process
            try:
                CONSUMER_LAG.remove(self.group, tp.topic, str(tp.partition))
            except KeyError:
                pass
        for tp, lag in lags.items():
            CONSUMER_LAG.labels(self.group, tp.topic, str(tp.partition)).set(lag)
        self._shown = set(lags)


class LoopWatch:
    """What a consume loop calls every turn (``tick``): liveness, and the
    consumer's lag now and then; ``finish`` measures the lag once more as the
    loop ends (a drained topic then shows 0)."""

    def __init__(self, consumer: KafkaConsumer, group: str, settings: Settings, liveness: Liveness | None) -> None:
        self._consumer = consumer
        self._liveness = liveness
        self._lag = ConsumerLag(group, settings.metrics_lag_interval_s)

    def tick(self) -> None:
        if self._liveness is not None:
            self._liveness.tick()
        self._lag.update(self._consumer)

    def finish(self) -> None:
        self._lag.update(self._consumer, force=True)


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass  # a scrape every few seconds is not news


class MetricsServer:
    """``/metrics``, ``/healthz`` and ``/readyz`` on a daemon thread."""

    def __init__(self, host: str, port: int, liveness: Liveness, readiness: Readiness, stage: str) -> None:
        self._liveness = liveness
        self._readiness = readiness
        self._stage = stage
        self._metrics = make_wsgi_app()
        self._httpd = make_server(host, port, self._app, server_class=_Server, handler_class=_QuietHandler)
        self.port: int = self._httpd.server_port
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="rasd-metrics", daemon=True)
        self._thread.start()

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            body = {"stage": self._stage, **self._liveness.report()}
            status = "200 OK" if body["live"] else "503 Service Unavailable"
            start_response(status, [("Content-Type", "application/json")])
            return [json.dumps(body).encode()]
        if environ.get("PATH_INFO") == "/readyz":
            body = {"stage": self._stage, **self._readiness.report()}
            status = "200 OK" if body["ready"] else "503 Service Unavailable"
            start_response(status, [("Content-Type", "application/json")])
            return [json.dumps(body).encode()]
        return self._metrics(environ, start_response)  # type: ignore[no-any-return]

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


@dataclass(frozen=True)
class Observed:
    liveness: Liveness
    port: int | None  # where /metrics, /healthz and /readyz are served (None: not served)


def start_observing(settings: Settings, stage: str, *, engine: bool = True) -> tuple[Observed, MetricsServer | None]:
    """Name the process's stage in its logs and serve its metrics when
    ``metrics_port`` is set (for callers that cannot use ``observe``'s
    ``with``, such as a Scrapy extension). ``engine``: the process uses the
    search engine, so /readyz asks it too."""
    global _current
    bind_process(stage=stage)
    liveness = Liveness(settings.liveness_stale_s)
    _current = liveness
    server = None
    if settings.metrics_port is not None:
        readiness = Readiness(liveness.started, probes(settings, engine=engine))
        server = MetricsServer(settings.metrics_host, settings.metrics_port, liveness, readiness, stage)
        log.info("metrics_serving", host=settings.metrics_host, port=server.port, paths=["/metrics", "/healthz", "/readyz"])
    return Observed(liveness, server.port if server else None), server


@contextmanager
def observe(settings: Settings, stage: str, *, engine: bool = True) -> Iterator[Observed]:
    """``start_observing`` for the length of a ``with`` block."""
    observed, server = start_observing(settings, stage, engine=engine)
    try:
        yield observed
    finally:
        if server is not None:
            server.close()

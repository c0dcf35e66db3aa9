"""The indexer's and the notifier's Prometheus metrics (served by
``ingest.observability``). Labels are bounded: engine distribution, step,
delivery event; never URLs or ids."""
from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

BATCH_SECONDS = Histogram(
    "rasd_index_batch_seconds",
    "Wall time of one indexer batch (decode, percolate, bulk, alerts, dead letters acknowledged)",
    ["engine"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
DOCUMENTS = Counter("rasd_index_documents", "Documents the engine acknowledged", ["engine"])
DOCUMENTS_PER_SECOND = Gauge("rasd_index_documents_per_second", "Documents per second of the last batch", ["engine"])
ALERTS = Counter("rasd_index_alerts", "Alerts raised by percolation", ["engine"])
STALLED = Gauge(
    "rasd_index_stalled",
    "1 while the indexer waits for an engine that cannot take writes (429, 5xx, down), else 0",
    ["engine", "step"],
)
NOTIFY_EVENTS = Counter(
    "rasd_notify_events",
    "Notifier events: messages, delivered, digests, retries_scheduled, held, suppressed, failed, dead_lettered, missing",
    ["event"],
)


def batch_indexed(engine: str, seconds: float, indexed: int, alerts: int) -> None:
    BATCH_SECONDS.labels(engine).observe(seconds)
    DOCUMENTS.labels(engine).inc(indexed)
    ALERTS.labels(engine).inc(alerts)
    if seconds > 0:
        DOCUMENTS_PER_SECOND.labels(engine).set(indexed / seconds)

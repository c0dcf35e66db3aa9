"""Helpers for the alert tests: alerts, emission, a notifier in a thread, and
the test's alert indices removed at the end."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from pydantic import SecretStr

from indexer.alerts.emit import EmitResult, PendingAlert, emit_alerts
from indexer.alerts.notifier import NotifierStats, run_notifier
from indexer.alerts.records import Channel, alert_id
from ingest.engines.client import VendorClient
from ingest.engines.detect import open_client
from ingest.kafka_io import Publisher, make_producer
from ingest.models import Alert
from ingest.settings import Settings
from tests.indexer.support import T0, fully_committed, publish, read_keyed

SECRET = "test-secret"


def fast(settings: Settings, **overrides: Any) -> Settings:
    """Settings with quick retries, sweeps and polls (tests wait on conditions)."""
    values: dict[str, Any] = dict(
        alert_delivery_retry_initial_s=0.05,
        alert_delivery_retry_max_s=0.2,
        alert_delivery_max_attempts=5,
        alert_sweep_interval_s=0.1,
        alert_webhook_timeout_s=2.0,
        alert_webhook_secret=SecretStr(SECRET),
        consumer_poll_timeout_ms=200,
    )
    values.update(overrides)
    return settings.model_copy(update=values)


def make_alert(n: int, rule: str = "karabakh", channels: list[str] | None = None, **overrides: Any) -> Alert:
    article = f"{n:032x}"
    fields: dict[str, Any] = dict(
        id=alert_id(rule, article),
        rule=rule,
        severity="high",
        channels=channels if channels is not None else ["ops"],
        article_id=article,
        url=f"https://news.example.org/a/{n}",
        source="example-news",
        title=f"Karabakh news {n}",
        language="en",
        published_at=T0,
        snippet="talks on <mark>Karabakh</mark> resumed",
        matched_terms=["karabakh"],
        indexed_at=T0 + timedelta(minutes=n),
        alerted_at=T0 + timedelta(minutes=n),
    )
    fields.update(overrides)
    return Alert(**fields)


def pending(alert: Alert, urls: dict[str, str], *, cooldown_s: float = 0.0, digest: bool = False) -> PendingAlert:
    channels = [Channel(name=name, url=url) for name, url in urls.items()]
    return PendingAlert(alert=alert, channels=channels, cooldown_s=cooldown_s, digest=digest)


def emit(settings: Settings, client: VendorClient, items: list[PendingAlert]) -> EmitResult:
    publisher = Publisher(make_producer(settings, client_id="test-emit"))
    try:
        return emit_alerts(client, publisher, settings, items)
    finally:
        publisher.close()


def publish_alerts(settings: Settings, alerts: list[Alert]) -> None:
    """Alert messages without recording anything (replays, missing documents)."""
    publish(settings, settings.topic_alerts, ((alert.rule, alert) for alert in alerts))


def deliveries(client: VendorClient, settings: Settings, alert_id: str) -> dict[str, dict[str, Any]]:
    """The alert's deliveries by channel, read in realtime."""
    found = client.get_raw(settings.alerts_index, alert_id)
    return {d["channel"]: d for d in found["_source"]["deliveries"]} if found else {}


def wait_until(predicate: Callable[[], bool], timeout: float = 20.0, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
    return True


def states(client: VendorClient, settings: Settings, alert_id: str) -> dict[str, str]:
    return {channel: d["state"] for channel, d in deliveries(client, settings, alert_id).items()}


class NotifierThread:
    """``run_notifier`` in a thread until the ``with`` block ends; its error,
    if any, is raised there."""

    def __init__(self, settings: Settings, url: str) -> None:
        self._settings = settings
        self._client = open_client(url, timeout_s=30.0)
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self.stats: NotifierStats | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.stats = run_notifier(self._settings, self._client, stop=self._stop)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            self._error = exc

    def __enter__(self) -> "NotifierThread":
        self._thread.start()
        return self

    def stop(self) -> NotifierStats:
        self._stop.set()
        self._thread.join(60)
        self._client.close()
        if self._error is not None:
            raise self._error
        assert self.stats is not None, "notifier did not stop"
        return self.stats

    def __exit__(self, *exc: object) -> None:
        if self._thread.is_alive() or self.stats is None:
            self.stop()


def read_alert_messages(settings: Settings, expected: int, timeout_s: float = 20.0) -> list[tuple[str, Alert]]:
    """(rule key, alert) of the messages on the alerts topic."""
    return [
        ((key or b"").decode(), alert)
        for key, alert in read_keyed(settings, settings.topic_alerts, Alert, expected, timeout_s)
    ]


def alerts_committed(settings: Settings) -> bool:
    """Whether the notifier group has committed every message of the alerts topic."""
    return fully_committed(settings, settings.notifier_group_id, settings.topic_alerts)

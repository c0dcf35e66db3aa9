"""The notifier: delivers alerts to their channels' webhooks.

Two ways in, one way of working. The alerts topic gives low latency: each
message names an alert whose deliveries are tried at once. A periodic sweep
of the alerts index (the outbox) finds what is due later: retries, digests
whose cooldown ended, and claims whose notifier died. Every delivery is first
claimed with a conditional write (see ``indexer.alerts.outbox``), so several
notifier processes, duplicate messages and the sweep never send one delivery
twice; the one exception is a notifier dying between the POST and recording
it, after which the lease runs out and the delivery is sent again with the
same Idempotency-Key.

A message is committed once the outcome of each of its deliveries is durably
recorded in the alerts index (delivered, retry at some time, held, failed):
a failing webhook never holds back the topic, its retries come from the sweep.
"""
from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests
import structlog
from kafka.consumer.fetcher import ConsumerRecord

from ingest.engines.client import VendorClient
from ingest.batch_loop import run_batches
from ingest.kafka_io import ContractError, Publisher, decode, excerpt, make_consumer, make_producer
from ingest.models import Alert, DeadLetter, utcnow
from ingest.settings import Settings
from ingest.observability import Liveness, LoopWatch
from indexer.alerts import outbox
from indexer.alerts.cooldown import cooldowns_index, cooldowns_index_body, digest_turn, enter_window
from indexer.alerts.emit import ensure_alerts_index
from indexer.metrics import NOTIFY_EVENTS
from indexer.alerts.webhooks import (
    Event,
    WebhookResult,
    alert_body,
    digest_body,
    digest_id,
    post_webhook,
    retry_delay_s,
)

log = structlog.get_logger(__name__)

# Deliveries run on a small pool so that one slow webhook does not make the
# others wait; bounded, so a flood of alerts cannot open a flood of sockets.
POOL_SIZE = 8
# A message can come before its alert document is visible only if something
# is wrong (emission writes the document first): look a few times, then let go.
MISSING_CHECKS = 3
MISSING_CHECK_DELAY_S = 0.5
SWEEP_PAGE_SIZE = 500


@dataclass
class NotifierStats:
    messages: int = 0
    delivered: int = 0
    digests: int = 0
    retries_scheduled: int = 0
    held: int = 0
    suppressed: int = 0
    failed: int = 0
    dead_lettered: int = 0
    missing: int = 0


@dataclass(frozen=True)
class _Claim:
    """A delivery this process holds: its lease, its attempts so far, its alert."""

    lease_id: str
    attempts: int
    alert: Alert


def alert_from_document(source: dict[str, Any]) -> Alert:
    return Alert.model_validate({k: v for k, v in source.items() if k in Alert.model_fields})


def lease_s(settings: Settings) -> float:
    # Long enough for a cooldown check, a POST that runs into its timeout and
    # the write of the outcome.
    return 2 * settings.alert_webhook_timeout_s + 10.0


class Notifier:
    """Delivery logic shared by the consumer path and the sweep."""

    def __init__(self, settings: Settings, client: VendorClient, publisher: Publisher, pool: ThreadPoolExecutor) -> None:
        self._settings = settings
        self._client = client
        self._publisher = publisher
        self._pool = pool
        self._index = settings.alerts_index
        self._cooldowns = cooldowns_index(settings)
        self._lease_s = lease_s(settings)
        self._sessions = threading.local()
        self._lock = threading.Lock()
        self.stats = NotifierStats()

    def _count(self, **increments: int) -> None:
        with self._lock:
            for name, value in increments.items():
                setattr(self.stats, name, getattr(self.stats, name) + value)
                NOTIFY_EVENTS.labels(name).inc(value)

    def _session(self) -> requests.Session:
        # requests sessions are not thread-safe: one per pool thread.
        session = getattr(self._sessions, "session", None)
        if session is None:
            session = self._sessions.session = requests.Session()
        return session

    # -- the alerts topic --
    def handle_batch(self, records: Sequence[ConsumerRecord]) -> None:
        """Deliver what the batch's alerts have due; return once every
        outcome is recorded (raise otherwise: the batch stays uncommitted)."""
        alerts: dict[str, Alert] = {}
        for record in records:
            try:
                alert = decode(record.value, Alert)
            except ContractError as exc:
                self._dead_letter("invalid_message", str(exc), record=record, payload=excerpt(record.value))
                continue
            alerts[alert.id] = alert  # duplicates in a batch: once is enough
        self._count(messages=len(records))
        found = self._load_all(list(alerts))
        for alert_id in set(alerts) - set(found):
            alert = alerts[alert_id]
            self._count(missing=1)
            log.error("alert_document_missing", alert_id=alert_id, rule=alert.rule, index=self._index)
            self._dead_letter("alert_undeliverable", f"alert {alert_id} is not in {self._index}", alert=alert)
        now = utcnow()
        self._wait(
            [
                self._pool.submit(self._deliver, record.id, delivery["channel"])
                for record in found.values()
                for delivery in record.source.get("deliveries", [])
                # held ones go out as a digest, from the sweep
                if outbox.is_due(delivery, now) and not outbox.belongs_to_digest(delivery)
            ]
        )
        self._publisher.flush()

    def _load_all(self, alert_ids: list[str]) -> dict[str, outbox.AlertRecord]:
        found: dict[str, outbox.AlertRecord] = {}
        for check in range(MISSING_CHECKS):
            if check:
                time.sleep(MISSING_CHECK_DELAY_S)
            missing = [i for i in alert_ids if i not in found]
            # _mget is realtime, like GET: it sees documents not yet refreshed
            for doc in self._client.mget_raw(self._index, missing):
                if doc.get("found"):
                    found[doc["_id"]] = outbox.AlertRecord.from_hit(doc)
            if len(found) == len(alert_ids):
                break
        return found

    # -- the sweep --
    def sweep(self) -> None:
        """Process every delivery due now: retries, expired claims, and the
        held alerts of ended cooldowns (one digest per rule and channel)."""
        now = utcnow()
        digests: dict[tuple[str, str], list[str]] = defaultdict(list)
        futures: list[Future[None]] = []
        for alert_id in outbox.due_alert_ids(self._client, self._index, now, SWEEP_PAGE_SIZE):
            record = outbox.load(self._client, self._index, alert_id)
            if record is None:
                continue
            for delivery in record.source.get("deliveries", []):
                if not outbox.is_due(delivery, now):
                    continue
                if outbox.belongs_to_digest(delivery):
                    digests[(record.source["rule"], delivery["channel"])].append(alert_id)
                else:
                    futures.append(self._pool.submit(self._deliver, alert_id, delivery["channel"]))
        futures += [self._pool.submit(self._send_digest, rule, channel, ids) for (rule, channel), ids in digests.items()]
        self._wait(futures)
        self._publisher.flush()

    @staticmethod
    def _wait(futures: list[Future[None]]) -> None:
        errors = [f.exception() for f in futures]
        first = next((e for e in errors if e is not None), None)
        if first is not None:
            raise first

    # -- one alert on one channel --
    def _deliver(self, alert_id: str, channel: str) -> None:
        now = utcnow()
        claimed = outbox.claim(self._client, self._index, alert_id, channel, now=now, lease_s=self._lease_s)
        if claimed is None:
            return
        record, lease_id = claimed
        delivery = record.delivery(channel)
        assert delivery is not None  # claim checked it
        source = record.source
        if float(source.get("cooldown_s") or 0) > 0 and not delivery.get("cleared"):
            until = enter_window(
                self._client,
                self._cooldowns,
                rule=source["rule"],
                channel=channel,
                cooldown_s=float(source["cooldown_s"]),
                holder=alert_id,
                now=now,
            )
            if until is not None:
                self._hold(alert_id, channel, lease_id, until, digest=bool(source.get("digest")))
                return
        alert = alert_from_document(source)
        result = self._post(delivery["url"], alert_body(alert, utcnow()), "alert", alert_id)
        claims = {alert_id: _Claim(lease_id, int(delivery.get("attempts") or 0), alert)}
        self._settle(claims, channel, result=result, rule=alert.rule)

    def _hold(self, alert_id: str, channel: str, lease_id: str, until: datetime, *, digest: bool) -> None:
        def update(delivery: dict[str, Any]) -> None:
            delivery["state"] = "held" if digest else "suppressed"
            delivery["next_attempt_at"] = outbox.iso(until) if digest else None

        if outbox.record_outcome(self._client, self._index, alert_id, channel, lease_id, update):
            self._count(**({"held": 1} if digest else {"suppressed": 1}))
            log.info("alert_in_cooldown", alert_id=alert_id, channel=channel, until=until.isoformat(), digest=digest)

    # -- held alerts of one rule on one channel --
    def _send_digest(self, rule: str, channel: str, alert_ids: list[str]) -> None:
        with digest_turn(self._client, self._cooldowns, rule=rule, channel=channel, lease_s=self._lease_s) as mine:
            # not ours: another notifier is sending this digest right now
            if mine:
                self._assemble_digest(rule, channel, alert_ids)

    def _assemble_digest(self, rule: str, channel: str, alert_ids: list[str]) -> None:
        now = utcnow()
        claims: dict[str, _Claim] = {}
        cleared = False
        cooldown_s = 0.0
        url = ""
        for alert_id in sorted(alert_ids):
            # the marker routes these claims back to a digest if this process dies
            got = outbox.claim(
                self._client, self._index, alert_id, channel, now=now, lease_s=self._lease_s,
                digest_id=digest_id(alert_ids),
            )
            if got is None:
                continue
            record, lease_id = got
            delivery = record.delivery(channel) or {}
            claims[alert_id] = _Claim(lease_id, int(delivery.get("attempts") or 0), alert_from_document(record.source))
            cleared = cleared or bool(delivery.get("cleared"))
            cooldown_s = max(cooldown_s, float(record.source.get("cooldown_s") or 0))
            url = delivery["url"]
        if not claims:
            return
        digest = digest_id(claims)
        # A retried digest already passed the cooldown; a new one opens a
        # window of its own (a digest is a notification too).
        if cooldown_s > 0 and not cleared:
            until = enter_window(
                self._client, self._cooldowns, rule=rule, channel=channel, cooldown_s=cooldown_s, holder=digest, now=now
            )
            if until is not None:
                for alert_id, held in claims.items():
                    self._hold(alert_id, channel, held.lease_id, until, digest=True)
                return
        alerts = [c.alert for c in claims.values()]
        result = self._post(url, digest_body(rule, digest, alerts, utcnow()), "digest", digest)
        self._settle(claims, channel, result=result, rule=rule, digest=digest)
        if result.ok:
            self._count(digests=1)

    # -- shared --
    def _post(self, url: str, body: bytes, event: Event, key: str) -> WebhookResult:
        started = time.monotonic()
        result = post_webhook(self._session(), url, body, event=event, key=key, settings=self._settings)
        log.info(
            "webhook_post",
            kind=event,
            key=key,
            ok=result.ok,
            status=result.status,
            error=result.error,
            seconds=round(time.monotonic() - started, 3),
        )
        return result

    def _settle(
        self,
        claims: dict[str, _Claim],
        channel: str,
        *,
        result: WebhookResult,
        rule: str,
        digest: str | None = None,
    ) -> None:
        """Record the POST's outcome on each delivery it carried. A final failure is
        dead-lettered before it is recorded: a duplicate dead letter after a
        crash is better than a lost one."""
        settings = self._settings
        now = utcnow()
        for alert_id, held in claims.items():
            attempts = held.attempts + 1
            changes: dict[str, Any] = dict(
                attempts=attempts, last_status=result.status, last_error=result.error, cleared=True, digest_id=digest
            )
            if result.ok:
                changes.update(state="delivered", delivered_at=outbox.iso(now), next_attempt_at=None)
                counter = "delivered"
            elif result.retryable and attempts < settings.alert_delivery_max_attempts:
                delay = retry_delay_s(attempts, settings, result.retry_after_s)
                # a digest's alerts stay held together for its retry
                changes.update(
                    state="held" if digest else "pending", next_attempt_at=outbox.iso(now + timedelta(seconds=delay))
                )
                counter = "retries_scheduled"
            else:
                changes.update(state="failed", next_attempt_at=None)
                counter = "failed"
                log.error("alert_delivery_failed", alert_id=alert_id, channel=channel, attempts=attempts, error=result.error)
                self._dead_letter(
                    "alert_undeliverable",
                    f"alert {alert_id} ({rule}) to channel {channel} failed after {attempts} attempt(s): {result.error}",
                    alert=held.alert,
                    http_status=result.status,
                )
                self._publisher.flush()
            if outbox.record_outcome(
                self._client, self._index, alert_id, channel, held.lease_id, lambda d: d.update(changes)
            ):
                self._count(**{counter: 1})

    def _dead_letter(
        self,
        reason: str,
        detail: str,
        *,
        record: ConsumerRecord | None = None,
        payload: str | None = None,
        alert: Alert | None = None,
        url: str | None = None,
        http_status: int | None = None,
    ) -> None:
        letter = DeadLetter(
            stage="notify",
            reason=reason,  # type: ignore[arg-type]
            detail=detail,
            url=url or (alert.url if alert else None),
            http_status=http_status,
            source=alert.source if alert else None,
            input_topic=record.topic if record else None,
            input_partition=record.partition if record else None,
            input_offset=record.offset if record else None,
            payload_excerpt=payload,
        )
        self._publisher.send(self._settings.topic_dead_letters, letter, key=alert.rule if alert else None)
        self._count(dead_lettered=1)


def _sweep_loop(notifier: Notifier, interval_s: float, stop: threading.Event) -> None:
    while not stop.wait(interval_s):
        try:
            notifier.sweep()
        except Exception as exc:  # noqa: BLE001 - the next round tries again
            log.error("alert_sweep_failed", error=repr(exc))


def run_notifier(
    settings: Settings,
    client: VendorClient,
    *,
    stop: threading.Event | None = None,
    idle_exit_s: float | None = None,
    liveness: Liveness | None = None,
) -> NotifierStats:
    """Deliver alerts from ``settings.topic_alerts`` (group
    ``settings.notifier_group_id``) and sweep the alerts index every
    ``settings.alert_sweep_interval_s`` until ``stop`` is set or (``idle_exit_s``)
    the topic has been quiet that long; ``liveness`` is ticked on every turn
    of the consume loop. Raises when the engine or Kafka fails
    for good, leaving the batch in flight uncommitted."""
    ensure_alerts_index(client, settings)
    client.ensure_plain_index(cooldowns_index(settings), cooldowns_index_body())
    stop = stop or threading.Event()
    sweep_stop = threading.Event()
    publisher = Publisher(make_producer(settings, client_id="rasd-notifier"))
    pool = ThreadPoolExecutor(max_workers=POOL_SIZE, thread_name_prefix="rasd-notify")
    notifier = Notifier(settings, client, publisher, pool)
    log.info("notifier_start", topic=settings.topic_alerts, group=settings.notifier_group_id, index=settings.alerts_index)
    sweeper = threading.Thread(
        target=_sweep_loop, args=(notifier, settings.alert_sweep_interval_s, sweep_stop), name="rasd-notify-sweep", daemon=True
    )
    sweeper.start()
    failed = True
    try:
        consumer = make_consumer(settings, settings.topic_alerts, settings.notifier_group_id, client_id="rasd-notifier")
        try:
            watch = LoopWatch(consumer, settings.notifier_group_id, settings, liveness)
            run_batches(
                consumer,
                notifier.handle_batch,
                poll_timeout_ms=settings.consumer_poll_timeout_ms,
                stop=stop,
                idle_exit_s=idle_exit_s,
                batch_max_s=settings.batch_max_s,
                tick=watch.tick,
            )
            watch.finish()
            failed = False
        finally:
            consumer.close(autocommit=False)
    finally:
        sweep_stop.set()
        sweeper.join()
        pool.shutdown(wait=True)
        publisher.close(flush=not failed)
    log.info("notifier_stop", **vars(notifier.stats))
    return notifier.stats

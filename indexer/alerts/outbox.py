"""The delivery outbox: the ``deliveries`` of an alert document and their
state changes, each one a conditional write (``if_seq_no``/``if_primary_term``)
so that any number of notifier processes can work on the same alerts.

States of one delivery (one channel of one alert)::

    pending --claim--> sending --> delivered | pending (retry at next_attempt_at) | failed
    pending --claim--> sending --cooldown--> held (digest) | suppressed
    held --(cooldown over)--> sending (as part of a digest) --> delivered | held (retry) | failed

``next_attempt_at`` of a delivery is when someone must look at it again: the
retry time (pending), the end of the claim's lease (sending) or the end of the
cooldown (held). The document's top-level ``pending``/``next_attempt_at``
summarize the deliveries, so the sweep finds due work with one flat query.

A claim is a lease: if its holder dies between the POST and recording the
outcome, the lease runs out and the delivery is sent again, with the same
Idempotency-Key. That is the one case of a second POST; receivers deduplicate
on the key.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog

from ingest.dates import parse_iso_datetime
from ingest.engines.client import VendorClient
from ingest.engines.errors import EngineError

log = structlog.get_logger(__name__)

ACTIVE_STATES = frozenset({"pending", "sending", "held"})
FINAL_STATES = frozenset({"delivered", "failed", "suppressed"})
# Recording an outcome re-reads and re-applies on a conflict (another channel
# of the same alert was updated meanwhile); this bounds that loop.
_RECORD_ATTEMPTS = 20


def is_conflict(exc: EngineError) -> bool:
    return exc.status == 409 or exc.error_type == "version_conflict_engine_exception"


def conflicts_error(what: str, attempts: int) -> EngineError:
    return EngineError(
        f"{what}: {attempts} write conflicts in a row",
        status=409,
        retryable=True,
        error_type="version_conflict_engine_exception",
    )


def iso(moment: datetime) -> str:
    return moment.isoformat()


@dataclass
class AlertRecord:
    """One alert document as read (realtime), with its version for CAS writes."""

    id: str
    source: dict[str, Any]
    seq_no: int
    primary_term: int

    @classmethod
    def from_hit(cls, hit: dict[str, Any]) -> "AlertRecord":
        return cls(hit["_id"], hit["_source"], hit["_seq_no"], hit["_primary_term"])

    def delivery(self, channel: str) -> dict[str, Any] | None:
        return next((d for d in self.source.get("deliveries", []) if d["channel"] == channel), None)


def due_at(delivery: dict[str, Any]) -> datetime | None:
    return parse_iso_datetime(delivery.get("next_attempt_at"))


def is_due(delivery: dict[str, Any], now: datetime) -> bool:
    """Active and its time has come (for ``sending``: the lease ran out)."""
    when = due_at(delivery)
    return delivery["state"] in ACTIVE_STATES and (when is None or when <= now)


def belongs_to_digest(delivery: dict[str, Any]) -> bool:
    # A held alert, or one whose digest was claimed by a notifier that died.
    return delivery["state"] == "held" or (delivery["state"] == "sending" and bool(delivery.get("digest_id")))


def summarize(source: dict[str, Any]) -> None:
    """Recompute the top-level flags the sweep queries."""
    active = [d for d in source.get("deliveries", []) if d["state"] in ACTIVE_STATES]
    times = [d["next_attempt_at"] for d in active if d.get("next_attempt_at")]
    source["pending"] = bool(active)
    source["next_attempt_at"] = min(times, key=parse_iso_datetime) if times else None


def load(client: VendorClient, index: str, alert_id: str) -> AlertRecord | None:
    found = client.get_raw(index, alert_id)
    return AlertRecord.from_hit(found) if found else None


def _write(client: VendorClient, index: str, record: AlertRecord) -> AlertRecord:
    summarize(record.source)
    answer = client.index_raw(
        index, record.id, record.source, if_seq_no=record.seq_no, if_primary_term=record.primary_term
    )
    return AlertRecord(record.id, record.source, answer["_seq_no"], answer["_primary_term"])


def claim(
    client: VendorClient,
    index: str,
    alert_id: str,
    channel: str,
    *,
    now: datetime,
    lease_s: float,
    digest_id: str | None = None,
) -> tuple[AlertRecord, str] | None:
    """Take the delivery of ``alert_id`` on ``channel`` for sending, if it is
    due: state ``sending`` with a lease until now + ``lease_s``. Returns the
    new record and the lease id, or None when the delivery is not due (any
    more): another notifier or a duplicate message has it, or it is done.
    A conflict with a write to another channel of the alert is retried."""
    lease_id = uuid.uuid4().hex
    for _ in range(_RECORD_ATTEMPTS):
        record = load(client, index, alert_id)
        delivery = record.delivery(channel) if record else None
        if record is None or delivery is None or not is_due(delivery, now):
            return None
        delivery.update(
            state="sending",
            lease_id=lease_id,
            next_attempt_at=iso(now + timedelta(seconds=lease_s)),
            digest_id=digest_id or delivery.get("digest_id"),
        )
        try:
            return _write(client, index, record), lease_id
        except EngineError as exc:
            if not is_conflict(exc):
                raise
    return None


def record_outcome(
    client: VendorClient,
    index: str,
    alert_id: str,
    channel: str,
    lease_id: str,
    update: Callable[[dict[str, Any]], None],
) -> bool:
    """Apply ``update`` to the delivery claimed with ``lease_id`` and write it,
    re-reading on conflicts. False if the claim was lost meanwhile (the lease
    ran out and another notifier took the delivery: its outcome counts)."""
    for _ in range(_RECORD_ATTEMPTS):
        record = load(client, index, alert_id)
        delivery = record.delivery(channel) if record else None
        if record is None or delivery is None or delivery.get("lease_id") != lease_id or delivery["state"] != "sending":
            log.warning("alert_claim_lost", alert_id=alert_id, channel=channel)
            return False
        update(delivery)
        delivery["lease_id"] = None
        try:
            _write(client, index, record)
            return True
        except EngineError as exc:
            if not is_conflict(exc):
                raise
    raise conflicts_error(f"alert {alert_id}, channel {channel}", _RECORD_ATTEMPTS)


def due_alert_ids(client: VendorClient, index: str, now: datetime, size: int) -> list[str]:
    """Ids of alerts with a delivery due (searched: sees refreshed writes; the
    caller re-reads each document in realtime before acting)."""
    body = {
        "size": size,
        "_source": False,
        "query": {
            "bool": {
                "filter": [
                    {"term": {"pending": True}},
                    {"range": {"next_attempt_at": {"lte": iso(now)}}},
                ]
            }
        },
        "sort": [{"next_attempt_at": "asc"}],
    }
    return [hit["_id"] for hit in client.search_raw(index, body)["hits"]["hits"]]

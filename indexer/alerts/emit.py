"""Alert emission, called by the indexer once the engine acknowledged a
batch: record each alert in the alerts index (the delivery outbox), then
announce it on the alerts topic for the notifier."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

import structlog

from ingest.engines.client import VendorClient
from ingest.engines.errors import EngineError, error_reason, error_type, is_retryable_status
from ingest.kafka_io import Publisher
from ingest.models import Alert
from ingest.settings import Settings
from indexer.alerts.records import Channel, alert_document, alerts_index_body

log = structlog.get_logger(__name__)

# (engine URL, index) pairs this process has already ensured: the alerts index
# is created once per process, not checked on every batch.
_ensured: set[tuple[str, str]] = set()
_ensured_lock = threading.Lock()


@dataclass(frozen=True)
class PendingAlert:
    """An alert the indexer found, with what its rule says about delivery."""

    alert: Alert
    channels: list[Channel] = field(default_factory=list)
    cooldown_s: float = 0.0
    digest: bool = False


@dataclass
class EmitResult:
    created: int = 0
    # replays: the alert was recorded by an earlier run of the same batch
    already_present: int = 0
    # another copy of the same story (same cluster) was alerted already
    same_story: int = 0


def ensure_alerts_index(client: VendorClient, settings: Settings) -> None:
    key = (client.url, settings.alerts_index)
    with _ensured_lock:
        if key in _ensured:
            return
        client.ensure_plain_index(settings.alerts_index, alerts_index_body())
        _ensured.add(key)


def emit_alerts(
    client: VendorClient, publisher: Publisher, settings: Settings, pending: list[PendingAlert]
) -> EmitResult:
    """Create the alert documents (``create``: a replayed batch never makes a
    second one), then send every alert to ``settings.topic_alerts`` keyed by
    rule, the already recorded ones too: a crash may have come between the
    document and the send. The caller flushes ``publisher`` before it commits.

    Raises EngineError (``retryable`` as the engine's answer says) when an
    alert could not be recorded; nothing is sent then."""
    result = EmitResult()
    if not pending:
        return result
    ensure_alerts_index(client, settings)
    operations: list[dict[str, object]] = []
    for item in pending:
        operations.append({"create": {"_index": settings.alerts_index, "_id": item.alert.id}})
        operations.append(alert_document(item.alert, item.channels, cooldown_s=item.cooldown_s, digest=item.digest))
    response = client.bulk_raw(operations)
    failures: list[tuple[int | None, object]] = []
    present: list[str] = []
    for entry in response.get("items", []):
        outcome = next(iter(entry.values()))
        status = outcome.get("status")
        if isinstance(status, int) and 200 <= status < 300:
            result.created += 1
        elif status == 409:
            present.append(outcome["_id"])
        else:
            failures.append((status, outcome.get("error")))
    if failures:
        status, error = failures[0]
        retryable = all(is_retryable_status(s) for s, _ in failures)
        raise EngineError(
            f"{len(failures)} alert(s) not recorded in {settings.alerts_index}, first: {error_reason(error)}",
            status=status,
            retryable=retryable,
            error_type=error_type(error),
        )
    # An alert id stands for a rule and a story. An existing alert for the
    # same article is a replay (sent again: a crash may have come between the
    # document and the send); one for another article is an earlier copy of
    # the story, already alerted.
    recorded = _recorded_articles(client, settings, present) if present else {}
    sent: set[str] = set()
    for item in pending:
        alert = item.alert
        if alert.id in recorded and recorded[alert.id] != alert.article_id or alert.id in sent:
            result.same_story += 1
            continue
        if alert.id in recorded:
            result.already_present += 1
        sent.add(alert.id)
        publisher.send(settings.topic_alerts, alert, key=alert.rule)
    log.info("alerts_emitted", created=result.created, already_present=result.already_present,
             same_story=result.same_story)
    return result


def _recorded_articles(client: VendorClient, settings: Settings, ids: list[str]) -> dict[str, str]:
    """Alert id -> the article the recorded alert was made for."""
    docs = client.mget_raw(settings.alerts_index, list(dict.fromkeys(ids)))
    return {d["_id"]: d["_source"].get("article_id") for d in docs if d.get("found")}

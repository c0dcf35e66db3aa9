"""Webhook requests: the JSON bodies, the HMAC signature, one POST and what
its answer means for the delivery (done, retry when, or give up)."""
from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import requests

from ingest.dates import parse_retry_after
from ingest.models import Alert
from ingest.settings import Settings

Event = Literal["alert", "digest"]
SIGNATURE_HEADER = "X-Rasd-Signature"


@dataclass(frozen=True)
class WebhookResult:
    ok: bool
    status: int | None = None
    error: str | None = None
    # a retry may succeed (timeouts, refused connections, 408, 429, 5xx)
    retryable: bool = False
    retry_after_s: float | None = None


def signature(secret: str, body: bytes) -> str:
    """The ``X-Rasd-Signature`` value: HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def signature_valid(secret: str, body: bytes, header: str | None) -> bool:
    return header is not None and hmac.compare_digest(signature(secret, body), header)


def _dumps(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def alert_body(alert: Alert, sent_at: datetime) -> bytes:
    return _dumps({"type": "alert", "alert": alert.model_dump(mode="json"), "sent_at": sent_at.isoformat()})


def digest_id(alert_ids: Iterable[str]) -> str:
    """Same alerts, same digest id: a re-sent digest keeps its Idempotency-Key."""
    return hashlib.sha256("\x1f".join(sorted(alert_ids)).encode("utf-8")).hexdigest()[:40]


def digest_body(rule: str, digest: str, alerts: list[Alert], sent_at: datetime) -> bytes:
    return _dumps(
        {
            "type": "digest",
            "id": digest,
            "rule": rule,
            "alerts": [a.model_dump(mode="json") for a in alerts],
            "count": len(alerts),
            "sent_at": sent_at.isoformat(),
        }
    )


def post_webhook(
    session: requests.Session, url: str, body: bytes, *, event: Event, key: str, settings: Settings
) -> WebhookResult:
    """POST ``body`` to ``url``; never raises for what the network or the
    receiver does: the result says whether and when to try again."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": settings.user_agent_header,
        "Idempotency-Key": key,
        "X-Rasd-Event": event,
    }
    if settings.alert_webhook_secret is not None:
        headers[SIGNATURE_HEADER] = signature(settings.alert_webhook_secret.get_secret_value(), body)
    try:
        # A redirect is a misconfigured URL, not something to follow with the
        # signed body (requests would turn the POST into a GET anyway).
        response = session.post(
            url, data=body, headers=headers, timeout=settings.alert_webhook_timeout_s, allow_redirects=False
        )
    except requests.RequestException as exc:
        return WebhookResult(ok=False, error=f"{type(exc).__name__}: {exc}", retryable=True)
    status = response.status_code
    response.close()
    if 200 <= status < 300:
        return WebhookResult(ok=True, status=status)
    retryable = status in (408, 429) or status >= 500
    return WebhookResult(
        ok=False,
        status=status,
        error=f"HTTP {status}",
        retryable=retryable,
        retry_after_s=parse_retry_after(response.headers.get("Retry-After")) if retryable else None,
    )


def retry_delay_s(attempts: int, settings: Settings, retry_after_s: float | None = None) -> float:
    """Exponential backoff after ``attempts`` failed attempts; a receiver's
    Retry-After is honoured when it asks for longer."""
    backoff = min(settings.alert_delivery_retry_initial_s * 2 ** max(attempts - 1, 0), settings.alert_delivery_retry_max_s)
    return max(backoff, retry_after_s or 0.0)

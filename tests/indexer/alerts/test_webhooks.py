"""Webhook requests against a real HTTP receiver: body, headers, signature,
and what each answer means for the delivery."""
import socket
from datetime import datetime, timezone

import pytest
import requests
from pydantic import SecretStr

from indexer.alerts.webhooks import (
    alert_body,
    digest_body,
    digest_id,
    post_webhook,
    retry_delay_s,
    signature,
    signature_valid,
)
from ingest.settings import Settings
from tests.indexer.alerts.alert_support import SECRET, make_alert
from deploy.webhook_sink import WebhookServer

SENT_AT = datetime(2025, 3, 1, 12, 30, tzinfo=timezone.utc)


def _settings(**overrides) -> Settings:
    return Settings(alert_webhook_secret=SecretStr(SECRET), alert_webhook_timeout_s=2.0, **overrides)


def _post(hook: WebhookServer, body: bytes, settings: Settings | None = None, key: str = "k1"):
    with requests.Session() as session:
        return post_webhook(session, hook.url, body, event="alert", key=key, settings=settings or _settings())


def test_alert_request_is_signed_json_with_idempotency_key_and_user_agent():
    alert = make_alert(1)
    settings = _settings()
    with WebhookServer(SECRET) as hook:
        result = _post(hook, alert_body(alert, SENT_AT), settings, key=alert.id)
    assert result.ok and result.status == 200
    [request] = hook.requests
    assert request.signature_valid is True
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Idempotency-Key"] == alert.id
    assert request.headers["X-Rasd-Event"] == "alert"
    assert request.headers["User-Agent"] == settings.user_agent_header
    assert request.json["type"] == "alert"
    assert request.json["alert"]["id"] == alert.id
    assert request.json["alert"]["schema_name"] == "rasd.alert"
    assert request.json["sent_at"] == SENT_AT.isoformat()


def test_signature_is_hmac_sha256_of_the_raw_body_and_rejects_another_secret():
    body = '{"type":"alert","title":"قره باغ"}'.encode()
    header = signature(SECRET, body)
    assert header.startswith("sha256=") and len(header) == len("sha256=") + 64
    assert signature_valid(SECRET, body, header)
    assert not signature_valid("other-secret", body, header)
    assert not signature_valid(SECRET, body + b" ", header)
    assert not signature_valid(SECRET, body, None)


def test_without_a_secret_requests_are_not_signed():
    with WebhookServer() as hook:
        assert _post(hook, b"{}", Settings(alert_webhook_secret=None)).ok
    assert "X-Rasd-Signature" not in hook.requests[0].headers


@pytest.mark.parametrize("status", [408, 429, 500, 503])
def test_overload_timeouts_and_server_errors_are_retryable(status):
    with WebhookServer(SECRET) as hook:
        hook.fail_next("k1", 1, status=status, retry_after="7")
        result = _post(hook, b"{}")
    assert not result.ok and result.retryable
    assert result.status == status
    assert result.retry_after_s == 7.0


@pytest.mark.parametrize("status", [400, 401, 404, 410, 301])
def test_other_client_errors_and_redirects_are_permanent(status):
    with WebhookServer(SECRET) as hook:
        hook.fail_next("k1", 1, status=status)
        result = _post(hook, b"{}")
    assert not result.ok and not result.retryable
    assert result.status == status


def test_an_unreachable_webhook_is_retryable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with requests.Session() as session:
        result = post_webhook(session, f"http://127.0.0.1:{port}/hook", b"{}", event="alert", key="k", settings=_settings())
    assert not result.ok and result.retryable and result.status is None
    assert "ConnectionError" in (result.error or "")


def test_backoff_doubles_up_to_the_maximum_and_honours_a_longer_retry_after():
    settings = _settings(alert_delivery_retry_initial_s=1.0, alert_delivery_retry_max_s=5.0)
    assert [retry_delay_s(n, settings) for n in (1, 2, 3, 4, 5)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert retry_delay_s(1, settings, retry_after_s=30.0) == 30.0
    assert retry_delay_s(3, settings, retry_after_s=0.5) == 4.0


def test_digest_id_depends_on_the_alerts_not_their_order():
    assert digest_id(["a", "b", "c"]) == digest_id(["c", "a", "b"])
    assert digest_id(["a", "b"]) != digest_id(["a", "b", "c"])


def test_digest_body_carries_every_alert_and_the_count():
    alerts = [make_alert(1), make_alert(2)]
    body = digest_body("karabakh", "d1", alerts, SENT_AT)
    with WebhookServer(SECRET) as hook:
        with requests.Session() as session:
            assert post_webhook(session, hook.url, body, event="digest", key="d1", settings=_settings()).ok
    [request] = hook.requests
    assert request.headers["X-Rasd-Event"] == "digest"
    assert request.json["type"] == "digest" and request.json["rule"] == "karabakh"
    assert request.json["count"] == 2
    assert [a["id"] for a in request.json["alerts"]] == [a.id for a in alerts]

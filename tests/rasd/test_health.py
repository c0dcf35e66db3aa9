"""`rasd check` (the containers' health check) describes what it could not
reach without printing a secret: not the Kafka SASL password, not a password
inside RASD_SEARCH_URL, not any other secret setting."""
from __future__ import annotations

import base64
import logging
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rasd.cli import app
from tests.tls_support import TlsEngine, make_pki

SECRETS = {
    "RASD_KAFKA_SASL_PASSWORD": "kafka-sasl-secret-7f3a",
    "RASD_KAFKA_SSL_KEY_PASSWORD": "kafka-key-secret-91c2",
    "RASD_KIBANA_PASSWORD": "kibana-secret-5d0e",
    "RASD_ALERT_WEBHOOK_SECRET": "webhook-secret-a8b4",
}
URL_PASSWORD = "url-secret-3e6f"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_check_reports_both_failures_without_any_secret(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    pki = make_pki(tmp_path)
    # the engine expects another password: the check fails at the credentials
    engine = TlsEngine(pki, "elasticsearch", authorization="Basic " + base64.b64encode(b"rasd:right").decode())
    env = {
        **SECRETS,
        "RASD_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{_closed_port()}",
        "RASD_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "RASD_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "RASD_KAFKA_SASL_USERNAME": "rasd",
        "RASD_SEARCH_URL": f"https://rasd:{URL_PASSWORD}@localhost:{engine.port}",
        "RASD_SEARCH_CA_CERTS": str(pki.ca),
        "RASD_LOG_LEVEL": "DEBUG",
    }
    caplog.set_level(logging.DEBUG)
    try:
        result = CliRunner().invoke(app, ["check", "--kafka", "--search"], env=env)
    finally:
        engine.close()
    assert result.exit_code == 1, result.output
    assert f"kafka 127.0.0.1:{env['RASD_KAFKA_BOOTSTRAP_SERVERS'].split(':')[1]}" in result.output
    assert f"search engine https://rasd:***@localhost:{engine.port}" in result.output
    assert "refused the credentials (HTTP 401)" in result.output
    # the engine got the password from the URL, as a header
    assert engine.seen and engine.seen[0][2] == "Basic " + base64.b64encode(f"rasd:{URL_PASSWORD}".encode()).decode()
    for secret in [*SECRETS.values(), URL_PASSWORD]:
        assert secret not in result.output
        assert secret not in caplog.text

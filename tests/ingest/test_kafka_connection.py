"""Kafka security settings become kafka-python keyword arguments in one
place; a TLS client built from them verifies the broker with the CA file and
presents its certificate (against a local TLS listener: the shared test
stack's broker is plaintext)."""
from __future__ import annotations

import socket
import struct
import threading
from pathlib import Path

import pytest
from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from ingest.kafka_connection import kafka_client_kwargs
from ingest.settings import Settings
from tests.tls_support import make_pki, server_context


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, kafka_bootstrap_servers="broker-1:9093,broker-2:9093", **values)  # type: ignore[call-arg]


def test_plaintext_is_the_default_and_adds_no_security_options():
    assert kafka_client_kwargs(_settings()) == {
        "bootstrap_servers": "broker-1:9093,broker-2:9093", "security_protocol": "PLAINTEXT",
        "bootstrap_timeout_ms": 30_000}
    assert kafka_client_kwargs(_settings(kafka_bootstrap_timeout_ms=2500))["bootstrap_timeout_ms"] == 2500


def test_ssl_passes_the_ca_client_certificate_key_password_and_hostname_check():
    kwargs = kafka_client_kwargs(_settings(
        kafka_security_protocol="SSL", kafka_ssl_cafile="/etc/rasd/ca.pem", kafka_ssl_certfile="/etc/rasd/c.pem",
        kafka_ssl_keyfile="/etc/rasd/k.pem", kafka_ssl_key_password="key-pass", kafka_ssl_check_hostname=False,
        # ignored: SASL is not part of the SSL protocol
        kafka_sasl_username="rasd"))
    assert kwargs == {
        "bootstrap_servers": "broker-1:9093,broker-2:9093", "security_protocol": "SSL", "bootstrap_timeout_ms": 30_000,
        "ssl_check_hostname": False, "ssl_cafile": "/etc/rasd/ca.pem", "ssl_certfile": "/etc/rasd/c.pem",
        "ssl_keyfile": "/etc/rasd/k.pem", "ssl_password": "key-pass"}


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_sasl_ssl_passes_the_mechanism_and_the_password_in_clear(mechanism: str):
    kwargs = kafka_client_kwargs(_settings(
        kafka_security_protocol="SASL_SSL", kafka_sasl_mechanism=mechanism, kafka_sasl_username="rasd",
        kafka_sasl_password="sasl-pass"))
    assert kwargs["sasl_mechanism"] == mechanism
    assert (kwargs["sasl_plain_username"], kwargs["sasl_plain_password"]) == ("rasd", "sasl-pass")
    assert kwargs["ssl_check_hostname"] is True and kwargs["ssl_cafile"] is None


def test_sasl_plaintext_has_no_tls_options():
    kwargs = kafka_client_kwargs(_settings(
        kafka_security_protocol="SASL_PLAINTEXT", kafka_sasl_mechanism="SCRAM-SHA-512", kafka_sasl_username="rasd",
        kafka_sasl_password="sasl-pass", kafka_ssl_cafile="/etc/rasd/ca.pem"))
    assert not any(key.startswith("ssl_") for key in kwargs)


def test_a_sasl_protocol_without_credentials_is_refused_when_settings_load():
    with pytest.raises(ValueError, match="needs kafka_sasl_mechanism, kafka_sasl_username and kafka_sasl_password"):
        _settings(kafka_security_protocol="SASL_SSL", kafka_sasl_mechanism="PLAIN", kafka_sasl_username="rasd")


def test_every_kafka_client_accepts_the_kwargs():
    # kafka-python refuses unknown configs with an AssertionError: a renamed
    # option would fail here rather than at a deployment
    kwargs = kafka_client_kwargs(_settings(
        kafka_security_protocol="SASL_SSL", kafka_sasl_mechanism="SCRAM-SHA-256", kafka_sasl_username="rasd",
        kafka_sasl_password="sasl-pass", kafka_ssl_cafile="/ca.pem"))
    from kafka.admin.client import KafkaAdminClient as Admin
    from kafka.consumer.group import KafkaConsumer
    from kafka.producer.kafka import KafkaProducer

    for cls in (Admin, KafkaConsumer, KafkaProducer):
        assert set(kwargs) <= set(cls.DEFAULT_CONFIG), cls.__name__


def _tls_listener(context, seen: dict, ready: threading.Event) -> socket.socket:
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        ready.set()
        while True:
            try:
                raw, _ = listener.accept()
            except OSError:  # the test closed the listener
                return
            if "first_request_api_key" in seen:
                # seen enough; a silent socket would hold the client's
                # handshake (it has no timeout of its own) past its deadline
                raw.close()
                continue
            try:
                with context.wrap_socket(raw, server_side=True) as tls:
                    seen["client"] = dict(x[0] for x in tls.getpeercert()["subject"])["commonName"]
                    size, api_key = struct.unpack(">ih", tls.recv(6))
                    seen["first_request_api_key"] = api_key
            except (OSError, struct.error) as exc:  # a refused handshake: keep listening
                seen.setdefault("errors", []).append(repr(exc))

    threading.Thread(target=serve, daemon=True).start()
    return listener


def test_a_client_built_from_ssl_settings_verifies_the_broker_and_presents_its_certificate(tmp_path: Path):
    pki = make_pki(tmp_path)
    seen: dict = {}
    ready = threading.Event()
    listener = _tls_listener(server_context(pki, require_client_cert=True), seen, ready)
    ready.wait(5)
    port = listener.getsockname()[1]
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        kafka_bootstrap_servers=f"localhost:{port}", kafka_security_protocol="SSL", kafka_ssl_cafile=pki.ca,
        kafka_ssl_certfile=pki.client_cert, kafka_ssl_keyfile=pki.client_key,
        kafka_ssl_key_password=pki.client_key_password, kafka_bootstrap_timeout_ms=3000,
    )
    try:
        # the listener is no broker: the client fails after its first request
        with pytest.raises(KafkaError):
            KafkaAdminClient(**kafka_client_kwargs(settings), request_timeout_ms=2000)
    finally:
        listener.close()
    assert seen.get("client") == "rasd-client", seen
    assert seen.get("first_request_api_key") == 18, seen  # ApiVersions, inside the TLS session

"""How every Kafka client of Rasd reaches the brokers: the one place that
turns the connection and security settings into kafka-python (3.0)
keyword arguments, so a producer, a consumer and an admin client can never
disagree about TLS or SASL."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ingest.settings import Settings


def _path(value: Path | None) -> str | None:
    return None if value is None else str(value)


def kafka_client_kwargs(settings: Settings) -> dict[str, Any]:
    """``bootstrap_servers``, its timeout and the security options, for ``KafkaProducer``,
    ``KafkaConsumer`` and ``KafkaAdminClient`` alike. Options of a layer the
    protocol does not use (TLS files on PLAINTEXT, SASL on SSL) are left out,
    so kafka-python's defaults stay in force there."""
    protocol = settings.kafka_security_protocol
    kwargs: dict[str, Any] = {"bootstrap_servers": settings.kafka_bootstrap_servers, "security_protocol": protocol,
                              "bootstrap_timeout_ms": settings.kafka_bootstrap_timeout_ms}
    if protocol in ("SSL", "SASL_SSL"):
        kwargs.update(
            ssl_check_hostname=settings.kafka_ssl_check_hostname,
            ssl_cafile=_path(settings.kafka_ssl_cafile),
            ssl_certfile=_path(settings.kafka_ssl_certfile),
            ssl_keyfile=_path(settings.kafka_ssl_keyfile),
            ssl_password=(
                settings.kafka_ssl_key_password.get_secret_value() if settings.kafka_ssl_key_password else None
            ),
        )
    if protocol in ("SASL_PLAINTEXT", "SASL_SSL"):
        # Settings refuses a SASL protocol without all three
        assert settings.kafka_sasl_password is not None
        kwargs.update(
            sasl_mechanism=settings.kafka_sasl_mechanism,
            sasl_plain_username=settings.kafka_sasl_username,
            sasl_plain_password=settings.kafka_sasl_password.get_secret_value(),
        )
    return kwargs

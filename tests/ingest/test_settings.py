"""Secret settings stay masked wherever settings are shown, and reach a
child process intact."""
from __future__ import annotations

import json

from ingest.settings import Settings

SECRETS = {
    "kafka_sasl_password": "kafka-sasl-secret",
    "kafka_ssl_key_password": "kafka-key-secret",
    "search_password": "search-secret",
    "kibana_password": "kibana-secret",
    "alert_webhook_secret": "webhook-secret",
}


def _settings() -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        kafka_security_protocol="SASL_SSL", kafka_sasl_mechanism="PLAIN", kafka_sasl_username="rasd",
        search_username="rasd", **SECRETS,
    )


def test_every_secret_setting_is_masked_in_repr_str_and_dumps():
    settings = _settings()
    shown = [repr(settings), str(settings), settings.model_dump_json(), json.dumps(settings.model_dump(mode="json"))]
    for secret in SECRETS.values():
        assert not any(secret in text for text in shown), secret


def test_every_secret_setting_is_a_secret_type():
    # a new password field declared as str would be shown in clear
    secret_like = {n for n in Settings.model_fields if any(w in n for w in ("password", "secret", "api_key"))}
    assert secret_like == set(SECRETS) | {"search_api_key"}
    for name in secret_like:
        assert "SecretStr" in str(Settings.model_fields[name].annotation), name


def test_the_dump_for_a_child_process_carries_the_secrets_and_loads_back_equal():
    settings = _settings()
    data = settings.dump_with_secrets()
    assert {name: data[name] for name in SECRETS} == SECRETS
    assert Settings(_env_file=None, **data) == settings  # type: ignore[call-arg]


def test_an_empty_environment_value_means_unset(monkeypatch):
    for name in ("RASD_SEARCH_PASSWORD", "RASD_SEARCH_CA_CERTS", "RASD_KAFKA_SASL_MECHANISM"):
        monkeypatch.setenv(name, "")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (settings.search_password, settings.search_ca_certs, settings.kafka_sasl_mechanism) == (None, None, None)

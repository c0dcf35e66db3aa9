"""Alert emission on the real OpenSearch and Kafka: one document per alert
whatever the replays, and a message on the alerts topic every time."""
import pytest
import requests

from indexer.alerts.emit import emit_alerts
from ingest.dates import parse_iso_datetime
from ingest.engines.errors import EngineError
from ingest.kafka_io import Publisher, make_producer
from tests.indexer.alerts.alert_support import emit, make_alert, pending, read_alert_messages

HOOKS = {"ops": "http://127.0.0.1:9/ops", "desk": "http://127.0.0.1:9/desk"}


def test_an_alert_is_recorded_once_with_a_pending_delivery_per_channel(settings, alerts_client):
    alert = make_alert(1)
    result = emit(settings, alerts_client, [pending(alert, HOOKS, cooldown_s=600, digest=True)])
    assert (result.created, result.already_present) == (1, 0)
    doc = alerts_client.get_raw(settings.alerts_index, alert.id)["_source"]
    assert doc["rule"] == "karabakh" and doc["title"] == alert.title
    assert doc["cooldown_s"] == 600 and doc["digest"] is True
    assert doc["pending"] is True and doc["next_attempt_at"] == doc["alerted_at"]
    assert [(d["channel"], d["url"], d["state"], d["attempts"]) for d in doc["deliveries"]] == [
        ("ops", HOOKS["ops"], "pending", 0),
        ("desk", HOOKS["desk"], "pending", 0),
    ]
    [(key, sent)] = read_alert_messages(settings, 1)
    assert key == "karabakh" and sent.id == alert.id


def test_a_replayed_alert_is_already_present_but_sent_to_kafka_again(settings, alerts_client):
    first = make_alert(1)
    emit(settings, alerts_client, [pending(first, HOOKS)])
    # the replay carries a later alerted_at: the stored document must not change
    replay = make_alert(1, alerted_at=first.alerted_at.replace(year=2026))
    second = make_alert(2)
    result = emit(settings, alerts_client, [pending(replay, HOOKS), pending(second, HOOKS)])
    assert (result.created, result.already_present) == (1, 1)
    stored = alerts_client.get_raw(settings.alerts_index, first.id)["_source"]
    assert parse_iso_datetime(stored["alerted_at"]) == first.alerted_at
    alerts_client.refresh_index(settings.alerts_index)
    assert alerts_client.count_raw(settings.alerts_index)["count"] == 2
    messages = read_alert_messages(settings, 3)
    assert sorted(a.id for _, a in messages) == sorted([first.id, first.id, second.id])


def test_nothing_is_sent_when_the_engine_refuses_the_alerts(settings, alerts_client):
    emit(settings, alerts_client, [pending(make_alert(1), HOOKS)])
    read_alert_messages(settings, 1)
    blocked = requests.put(
        f"{settings.search_url}/{settings.alerts_index}/_settings", json={"index.blocks.write": True}, timeout=10
    )
    assert blocked.ok, blocked.text
    publisher = Publisher(make_producer(settings, client_id="test-emit"))
    try:
        with pytest.raises(EngineError) as raised:
            emit_alerts(alerts_client, publisher, settings, [pending(make_alert(2), HOOKS)])
    finally:
        publisher.close()
    assert raised.value.retryable is False
    assert "not recorded" in str(raised.value)
    assert [a.id for _, a in read_alert_messages(settings, 1)] == [make_alert(1).id]


def test_no_alerts_means_no_request(settings, alerts_client):
    result = emit(settings, alerts_client, [])
    assert (result.created, result.already_present) == (0, 0)
    assert not alerts_client.index_exists(settings.alerts_index)

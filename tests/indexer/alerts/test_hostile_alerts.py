"""Hostile messages on the alerts topic, on real Kafka and OpenSearch: the
real notifier dead-letters each one as an invalid message with its position,
and the good alerts around them still reach the webhook, once each.

Already covered elsewhere: test_notifier.py
test_a_message_without_its_alert_document_is_dead_lettered_and_committed
(a valid alert whose document is missing) and
test_duplicate_messages_for_one_alert_deliver_it_once.
"""
from __future__ import annotations

import json

from kafka import KafkaProducer

from deploy.webhook_sink import WebhookServer
from ingest.kafka_io import encode
from tests.indexer.alerts.alert_support import (
    SECRET,
    NotifierThread,
    alerts_committed,
    emit,
    fast,
    make_alert,
    pending,
    wait_until,
)
from tests.indexer.support import make_article, read_dead_letters

RULE_KEY = b"karabakh"  # the key emit() gives these alerts: one partition for all


def _alert_json(n: int, **changes: object) -> bytes:
    data = json.loads(encode(make_alert(n)))
    data.update(changes)
    return json.dumps(data).encode()


HOSTILE: list[tuple[str, bytes | None, str]] = [
    ("non_utf8_bytes", b"\xff\xfe\x00\x01\x80 binary junk", "not a valid Alert"),
    ("truncated_json", encode(make_alert(90))[:100], "not a valid Alert"),
    ("empty_object", b"{}", "not a valid Alert"),
    ("wrong_contract_version", _alert_json(91, schema_version=2), "not a valid Alert"),
    ("unknown_severity", _alert_json(92, severity="apocalyptic"), "not a valid Alert"),
    ("article_on_the_alerts_topic", encode(make_article(93)), "not a valid Alert"),
    ("tombstone", None, "tombstone"),
]


def _send_raw(settings, values: list[bytes | None]) -> None:
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
    try:
        for value in values:
            producer.send(settings.topic_alerts, value=value, key=RULE_KEY)
        producer.flush(30)
    finally:
        producer.close()


def test_each_hostile_message_on_the_alerts_topic_is_dead_lettered_and_the_alerts_around_it_are_delivered(
    settings, alerts_client, opensearch_url
):
    settings = fast(settings)
    alerts = [make_alert(n) for n in range(4)]
    half = len(HOSTILE) // 2
    with WebhookServer(SECRET) as hook, NotifierThread(settings, opensearch_url) as notifier:
        emit(settings, alerts_client, [pending(a, {"ops": hook.url}) for a in alerts[:2]])
        _send_raw(settings, [value for _, value, _ in HOSTILE[:half]])
        emit(settings, alerts_client, [pending(alerts[2], {"ops": hook.url})])
        _send_raw(settings, [value for _, value, _ in HOSTILE[half:]])
        emit(settings, alerts_client, [pending(alerts[3], {"ops": hook.url})])
        assert hook.wait_for(lambda: len(hook.delivered()) == len(alerts))
        assert wait_until(lambda: alerts_committed(settings), interval=0.5)
        stats = notifier.stop()

    assert {key: len(got) for key, got in hook.delivered().items()} == {a.id: 1 for a in alerts}
    assert stats.delivered == len(alerts) and stats.dead_lettered == len(HOSTILE)
    letters = sorted(read_dead_letters(settings, len(HOSTILE)), key=lambda d: d.input_offset or 0)
    assert len(letters) == len(HOSTILE)
    for (name, value, phrase), letter in zip(HOSTILE, letters):
        assert (letter.stage, letter.reason) == ("notify", "invalid_message"), name
        assert phrase in letter.detail, (name, letter.detail)
        assert letter.input_topic == settings.topic_alerts and letter.input_offset is not None, name
        assert (letter.payload_excerpt is None) == (value is None), name

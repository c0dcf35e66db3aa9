"""The notifier on the real OpenSearch and Kafka, delivering to webhook
servers run by the test: exactly once, retries, failures, several
notifiers, restarts, cooldowns and digests."""
from indexer.alerts.notifier import lease_s
from tests.indexer.alerts.alert_support import (
    SECRET,
    NotifierThread,
    alerts_committed,
    deliveries,
    emit,
    fast,
    make_alert,
    pending,
    publish_alerts,
    states,
    wait_until,
)
from deploy.webhook_sink import WebhookServer
from tests.indexer.support import read_dead_letters


def _all_in(client, settings, alerts, state, channel="ops"):
    return lambda: all(states(client, settings, a.id).get(channel) == state for a in alerts)


def test_each_alert_reaches_the_webhook_exactly_once_with_a_valid_signature(settings, alerts_client, opensearch_url):
    settings = fast(settings)
    alerts = [make_alert(n) for n in range(5)]
    with WebhookServer(SECRET) as hook, NotifierThread(settings, opensearch_url) as notifier:
        emit(settings, alerts_client, [pending(a, {"ops": hook.url}) for a in alerts])
        assert hook.wait_for(lambda: len(hook.delivered()) == 5)
        assert wait_until(_all_in(alerts_client, settings, alerts, "delivered"))
        assert wait_until(lambda: alerts_committed(settings), interval=0.5)
        stats = notifier.stop()
    assert {key: len(got) for key, got in hook.delivered().items()} == {a.id: 1 for a in alerts}
    assert len(hook.requests) == 5
    assert all(r.signature_valid for r in hook.requests)
    assert {r.json["alert"]["id"] for r in hook.requests} == {a.id for a in alerts}
    assert stats.delivered == 5 and stats.failed == 0
    delivery = deliveries(alerts_client, settings, alerts[0].id)["ops"]
    assert delivery["attempts"] == 1 and delivery["last_status"] == 200 and delivery["delivered_at"]


def test_a_webhook_failing_twice_gets_each_alert_once_on_the_third_attempt(settings, alerts_client, opensearch_url):
    settings = fast(settings)
    alerts = [make_alert(n) for n in range(3)]
    with WebhookServer(SECRET) as hook, NotifierThread(settings, opensearch_url):
        hook.fail_first_per_key(2)
        emit(settings, alerts_client, [pending(a, {"ops": hook.url}) for a in alerts])
        assert wait_until(_all_in(alerts_client, settings, alerts, "delivered"))
    assert {key: len(got) for key, got in hook.delivered().items()} == {a.id: 1 for a in alerts}
    for alert in alerts:
        assert [r.status for r in hook.for_key(alert.id)] == [503, 503, 200]
        assert all(r.signature_valid for r in hook.for_key(alert.id))
        assert deliveries(alerts_client, settings, alert.id)["ops"]["attempts"] == 3


def test_a_permanent_client_error_fails_the_delivery_at_once_and_dead_letters_it(
    settings, alerts_client, opensearch_url
):
    settings = fast(settings)
    alert = make_alert(1)
    with WebhookServer(SECRET) as hook, NotifierThread(settings, opensearch_url):
        hook.fail_next(alert.id, 1, status=404)
        emit(settings, alerts_client, [pending(alert, {"ops": hook.url})])
        assert wait_until(_all_in(alerts_client, settings, [alert], "failed"))
    [letter] = read_dead_letters(settings, 1)
    assert (letter.stage, letter.reason, letter.http_status) == ("notify", "alert_undeliverable", 404)
    assert alert.id in letter.detail and letter.url == alert.url
    assert len(hook.for_key(alert.id)) == 1
    assert deliveries(alerts_client, settings, alert.id)["ops"]["last_error"] == "HTTP 404"


def test_a_webhook_down_for_good_is_given_up_after_the_maximum_attempts(settings, alerts_client, opensearch_url):
    settings = fast(settings, alert_delivery_max_attempts=3)
    alert = make_alert(1)
    with WebhookServer(SECRET) as hook, NotifierThread(settings, opensearch_url):
        hook.set_down(True)
        emit(settings, alerts_client, [pending(alert, {"ops": hook.url})])
        assert wait_until(_all_in(alerts_client, settings, [alert], "failed"))
    assert [r.status for r in hook.for_key(alert.id)] == [503, 503, 503]
    [letter] = read_dead_letters(settings, 1)
    assert letter.reason == "alert_undeliverable" and letter.http_status == 503
    doc = alerts_client.get_raw(settings.alerts_index, alert.id)["_source"]
    assert doc["pending"] is False and doc["deliveries"][0]["attempts"] == 3


def test_duplicate_messages_for_one_alert_deliver_it_once(settings, alerts_client, opensearch_url):
    settings = fast(settings)
    alert = make_alert(1)
    with WebhookServer(SECRET) as hook:
        emit(settings, alerts_client, [pending(alert, {"ops": hook.url})])
        publish_alerts(settings, [alert] * 4)  # replays: five messages in all
        with NotifierThread(settings, opensearch_url) as notifier:
            assert wait_until(_all_in(alerts_client, settings, [alert], "delivered"))
            assert wait_until(lambda: alerts_committed(settings), interval=0.5)
            stats = notifier.stop()
    assert len(hook.requests) == 1
    assert stats.messages == 5 and stats.delivered == 1


def test_two_notifiers_at_once_deliver_each_alert_once(settings, alerts_client, opensearch_url):
    settings = fast(settings)
    # several rules spread the messages over the partitions; the first
    # attempt of each fails, so both sweeps race for the retries, and the
    # replays race with the first messages
    alerts = [make_alert(n, rule=f"rule-{n % 3}") for n in range(20)]
    with WebhookServer(SECRET) as hook:
        hook.fail_first_per_key(1)
        with NotifierThread(settings, opensearch_url) as one, NotifierThread(settings, opensearch_url) as two:
            emit(settings, alerts_client, [pending(a, {"ops": hook.url}) for a in alerts])
            publish_alerts(settings, alerts)
            assert wait_until(_all_in(alerts_client, settings, alerts, "delivered"), timeout=60)
            assert wait_until(lambda: alerts_committed(settings), interval=0.5)
            stats = [one.stop(), two.stop()]
    assert {key: len(got) for key, got in hook.delivered().items()} == {a.id: 1 for a in alerts}
    assert sum(s.delivered for s in stats) == 20
    assert sum(s.messages for s in stats) >= 40  # a rebalance may hand a batch over twice


def test_a_down_webhook_holds_back_neither_another_channel_nor_the_commit(settings, alerts_client, opensearch_url):
    settings = fast(settings, alert_delivery_max_attempts=1000)
    alerts = [make_alert(n) for n in range(3)]
    with WebhookServer(SECRET) as down, WebhookServer(SECRET) as up, NotifierThread(settings, opensearch_url):
        down.set_down(True)
        emit(settings, alerts_client, [pending(a, {"down": down.url, "up": up.url}) for a in alerts])
        assert up.wait_for(lambda: len(up.delivered()) == 3)
        assert wait_until(lambda: alerts_committed(settings), interval=0.5)
        assert down.wait_for(lambda: all(len(down.for_key(a.id)) >= 2 for a in alerts))
        for alert in alerts:
            assert states(alerts_client, settings, alert.id)["up"] == "delivered"
            assert states(alerts_client, settings, alert.id)["down"] in ("pending", "sending")
    assert {key: len(got) for key, got in up.delivered().items()} == {a.id: 1 for a in alerts}
    assert down.delivered() == {}


def test_a_retry_pending_when_the_notifier_stops_is_delivered_by_the_next_one(settings, alerts_client, opensearch_url):
    settings = fast(settings, alert_delivery_retry_initial_s=0.5, alert_delivery_retry_max_s=0.5)
    alert = make_alert(1)
    with WebhookServer(SECRET) as hook:
        hook.set_down(True)
        with NotifierThread(settings, opensearch_url) as first:
            emit(settings, alerts_client, [pending(alert, {"ops": hook.url})])
            assert hook.wait_for(lambda: len(hook.for_key(alert.id)) >= 1)
            assert wait_until(lambda: alerts_committed(settings), interval=0.5)
            first.stop()
        delivery = deliveries(alerts_client, settings, alert.id)["ops"]
        assert delivery["state"] == "pending" and delivery["attempts"] >= 1
        hook.set_down(False)
        with NotifierThread(settings, opensearch_url) as second:
            assert wait_until(_all_in(alerts_client, settings, [alert], "delivered"))
            stats = second.stop()
    assert {key: len(got) for key, got in hook.delivered().items()} == {alert.id: 1}
    assert stats.messages == 0 and stats.delivered == 1  # from the sweep, not the (committed) topic


def test_alerts_within_the_cooldown_are_suppressed_without_digest(settings, alerts_client, opensearch_url):
    settings = fast(settings)
    alerts = [make_alert(n) for n in range(4)]
    with WebhookServer(SECRET) as hook, NotifierThread(settings, opensearch_url) as notifier:
        emit(settings, alerts_client, [pending(a, {"ops": hook.url}, cooldown_s=600) for a in alerts])
        assert wait_until(
            lambda: sorted(states(alerts_client, settings, a.id)["ops"] for a in alerts)
            == ["delivered", "suppressed", "suppressed", "suppressed"]
        )
        stats = notifier.stop()
    assert len(hook.requests) == 1 and hook.requests[0].json["type"] == "alert"
    assert stats.suppressed == 3
    for alert in alerts:
        doc = alerts_client.get_raw(settings.alerts_index, alert.id)["_source"]
        assert doc["pending"] is False


def test_a_digest_carries_the_held_alerts_once_the_cooldown_ends(settings, alerts_client, opensearch_url):
    settings = fast(settings)
    cooldown_s = 2.0
    first = make_alert(0)
    held = [make_alert(n) for n in range(1, 4)]
    with WebhookServer(SECRET) as hook, NotifierThread(settings, opensearch_url) as notifier:
        emit(settings, alerts_client, [pending(first, {"ops": hook.url}, cooldown_s=cooldown_s, digest=True)])
        assert hook.wait_for(lambda: len(hook.delivered()) == 1)
        emit(settings, alerts_client, [pending(a, {"ops": hook.url}, cooldown_s=cooldown_s, digest=True) for a in held])
        assert wait_until(_all_in(alerts_client, settings, held, "held"))
        assert hook.wait_for(lambda: len(hook.delivered()) == 2, timeout=30)
        assert wait_until(_all_in(alerts_client, settings, held, "delivered"))
        stats = notifier.stop()
    alert_request, digest_request = hook.requests
    assert digest_request.headers["X-Rasd-Event"] == "digest" and digest_request.signature_valid
    assert digest_request.json["count"] == 3
    assert sorted(a["id"] for a in digest_request.json["alerts"]) == sorted(a.id for a in held)
    assert digest_request.at - alert_request.at >= cooldown_s - 0.2
    key = digest_request.headers["Idempotency-Key"]
    assert all(deliveries(alerts_client, settings, a.id)["ops"]["digest_id"] == key for a in held)
    assert stats.held == 3 and stats.digests == 1 and stats.delivered == 4


def test_two_notifiers_send_one_digest_between_them(settings, alerts_client, opensearch_url):
    settings = fast(settings)
    first = make_alert(0)
    held = [make_alert(n) for n in range(1, 9)]
    with WebhookServer(SECRET) as hook:
        with NotifierThread(settings, opensearch_url), NotifierThread(settings, opensearch_url):
            emit(settings, alerts_client, [pending(first, {"ops": hook.url}, cooldown_s=1.5, digest=True)])
            assert hook.wait_for(lambda: len(hook.delivered()) == 1)
            emit(settings, alerts_client, [pending(a, {"ops": hook.url}, cooldown_s=1.5, digest=True) for a in held])
            assert wait_until(_all_in(alerts_client, settings, held, "delivered"), timeout=30)
    assert [r.headers["X-Rasd-Event"] for r in hook.requests] == ["alert", "digest"]
    assert hook.requests[1].json["count"] == 8


def test_a_message_without_its_alert_document_is_dead_lettered_and_committed(settings, alerts_client, opensearch_url):
    settings = fast(settings)
    ghost = make_alert(9)
    with NotifierThread(settings, opensearch_url) as notifier:
        publish_alerts(settings, [ghost])
        assert wait_until(lambda: alerts_committed(settings), interval=0.5)
        stats = notifier.stop()
    [letter] = read_dead_letters(settings, 1)
    assert (letter.stage, letter.reason) == ("notify", "alert_undeliverable")
    assert ghost.id in letter.detail and letter.url == ghost.url
    assert stats.missing == 1


def test_the_claim_lease_outlasts_a_webhook_timeout(settings):
    # a claim must not expire while its POST may still be running
    assert lease_s(settings) > 2 * settings.alert_webhook_timeout_s

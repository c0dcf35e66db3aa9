"""The outbox's conditional writes on the real OpenSearch: one claim per
delivery however many try, no lost claims when sibling channels change."""
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from indexer.alerts import outbox
from ingest.models import utcnow
from tests.indexer.alerts.alert_support import emit, make_alert, pending


def _emitted(settings, client, n=1, channels=("ops",)):
    alert = make_alert(n, channels=list(channels))
    emit(settings, client, [pending(alert, {c: f"http://127.0.0.1:9/{c}" for c in channels})])
    return alert.id


def test_only_one_of_many_concurrent_claims_of_a_delivery_wins(settings, alerts_client):
    alert_id = _emitted(settings, alerts_client)
    now = utcnow()
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: outbox.claim(
            alerts_client, settings.alerts_index, alert_id, "ops", now=now, lease_s=60), range(8)))
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    record, lease_id = winners[0]
    delivery = outbox.load(alerts_client, settings.alerts_index, alert_id).delivery("ops")
    assert delivery["state"] == "sending" and delivery["lease_id"] == lease_id


def test_claims_of_different_channels_of_one_alert_all_succeed_despite_conflicts(settings, alerts_client):
    channels = [f"c{i}" for i in range(8)]
    alert_id = _emitted(settings, alerts_client, channels=channels)
    now = utcnow()
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda c: outbox.claim(
            alerts_client, settings.alerts_index, alert_id, c, now=now, lease_s=60), channels))
    assert all(r is not None for r in results)
    record = outbox.load(alerts_client, settings.alerts_index, alert_id)
    assert {d["state"] for d in record.source["deliveries"]} == {"sending"}


def test_an_expired_claim_can_be_taken_over_and_its_holder_cannot_record_any_more(settings, alerts_client):
    alert_id = _emitted(settings, alerts_client)
    index = settings.alerts_index
    now = utcnow()
    _, first = outbox.claim(alerts_client, index, alert_id, "ops", now=now, lease_s=60)
    assert outbox.claim(alerts_client, index, alert_id, "ops", now=now + timedelta(seconds=30), lease_s=60) is None
    _, second = outbox.claim(alerts_client, index, alert_id, "ops", now=now + timedelta(seconds=61), lease_s=60)
    assert not outbox.record_outcome(alerts_client, index, alert_id, "ops", first, lambda d: d.update(state="delivered"))
    assert outbox.record_outcome(alerts_client, index, alert_id, "ops", second, lambda d: d.update(state="delivered"))
    record = outbox.load(alerts_client, index, alert_id)
    assert record.delivery("ops")["state"] == "delivered"
    assert record.delivery("ops")["lease_id"] is None


def test_the_document_summary_follows_its_deliveries(settings, alerts_client):
    alert_id = _emitted(settings, alerts_client, channels=("a", "b"))
    index = settings.alerts_index
    now = utcnow()
    later = now + timedelta(seconds=300)
    _, lease_a = outbox.claim(alerts_client, index, alert_id, "a", now=now, lease_s=60)
    outbox.record_outcome(alerts_client, index, alert_id, "a", lease_a,
                          lambda d: d.update(state="pending", next_attempt_at=outbox.iso(later)))
    _, lease_b = outbox.claim(alerts_client, index, alert_id, "b", now=now, lease_s=600)
    source = outbox.load(alerts_client, index, alert_id).source
    assert source["pending"] is True
    assert source["next_attempt_at"] == outbox.iso(later)  # a's retry comes before b's lease ends
    outbox.record_outcome(alerts_client, index, alert_id, "b", lease_b, lambda d: d.update(state="delivered"))
    _, lease_a = outbox.claim(alerts_client, index, alert_id, "a", now=later, lease_s=60)
    outbox.record_outcome(alerts_client, index, alert_id, "a", lease_a, lambda d: d.update(state="failed"))
    source = outbox.load(alerts_client, index, alert_id).source
    assert source["pending"] is False and source["next_attempt_at"] is None


def test_the_sweep_query_finds_due_deliveries_only(settings, alerts_client):
    index = settings.alerts_index
    due = _emitted(settings, alerts_client, n=1)
    later = _emitted(settings, alerts_client, n=2)
    done = _emitted(settings, alerts_client, n=3)
    now = utcnow()
    _, lease = outbox.claim(alerts_client, index, later, "ops", now=now, lease_s=600)
    _, lease_done = outbox.claim(alerts_client, index, done, "ops", now=now, lease_s=600)
    outbox.record_outcome(alerts_client, index, done, "ops", lease_done, lambda d: d.update(state="delivered"))
    alerts_client.refresh_index(index)
    assert outbox.due_alert_ids(alerts_client, index, now, 100) == [due]
    # once the lease of the claimed one runs out, it is due again
    assert set(outbox.due_alert_ids(alerts_client, index, now + timedelta(seconds=601), 100)) == {due, later}

"""Cooldown windows and digest turns on the real OpenSearch (conditional
writes, so that every notifier process sees the same window)."""
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from indexer.alerts.cooldown import cooldowns_index, cooldowns_index_body, digest_turn, enter_window
from ingest.models import utcnow


@pytest.fixture
def index(settings, alerts_client):
    name = cooldowns_index(settings)
    alerts_client.ensure_plain_index(name, cooldowns_index_body())
    return name


def _enter(client, index, holder, now, cooldown_s=60.0, channel="ops"):
    return enter_window(client, index, rule="karabakh", channel=channel, cooldown_s=cooldown_s, holder=holder, now=now)


def test_a_window_belongs_to_the_first_notification_until_it_ends(alerts_client, index):
    now = utcnow()
    assert _enter(alerts_client, index, "alert-1", now) is None
    assert _enter(alerts_client, index, "alert-1", now + timedelta(seconds=5)) is None  # its own retry
    assert _enter(alerts_client, index, "alert-2", now + timedelta(seconds=5)) == now + timedelta(seconds=60)
    assert _enter(alerts_client, index, "alert-2", now + timedelta(seconds=61)) is None
    assert _enter(alerts_client, index, "alert-3", now + timedelta(seconds=62)) == now + timedelta(seconds=121)


def test_each_channel_has_its_own_window(alerts_client, index):
    now = utcnow()
    assert _enter(alerts_client, index, "alert-1", now, channel="ops") is None
    assert _enter(alerts_client, index, "alert-2", now, channel="desk") is None


def test_of_many_concurrent_notifications_exactly_one_opens_the_window(alerts_client, index):
    now = utcnow()
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda n: _enter(alerts_client, index, f"alert-{n}", now), range(8)))
    assert results.count(None) == 1


def test_one_digest_turn_at_a_time_and_free_again_when_it_ends(alerts_client, index):
    def turn():
        return digest_turn(alerts_client, index, rule="karabakh", channel="ops", lease_s=60)

    with turn() as first:
        assert first
        with turn() as second:
            assert not second
    with turn() as third:
        assert third

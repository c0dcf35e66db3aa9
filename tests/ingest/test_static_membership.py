"""``kafka_instance_id``: a worker with a stable name is a static member of
its consumer group, so a worker that died without leaving (a crash, a kill)
and comes back under the same name gets its partitions back at once,
without waiting out the dead member's session; without the name it must
wait for that session to end. Two live processes under one name: the older
is fenced and stops with an error, never both consuming."""
from __future__ import annotations

import time

import pytest
from kafka import KafkaConsumer
from kafka.errors import FencedInstanceIdError

from ingest.kafka_io import make_consumer
from ingest.settings import Settings

pytestmark = pytest.mark.services

# make_consumer's session timeout: a dead dynamic member holds its partitions this long
SESSION_S = 10.0


def _assigned(consumer: KafkaConsumer, timeout_s: float) -> float | None:
    """Seconds until the consumer has partitions, None if not within ``timeout_s``."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        consumer.poll(timeout_ms=200)
        if consumer.assignment():
            return time.monotonic() - t0
    return None


def _crash(consumer: KafkaConsumer) -> None:
    """Stop like a killed process: no LeaveGroup (a static member never
    sends one on close; a dynamic one is kept from sending it)."""
    consumer._coordinator.maybe_leave_group = lambda *args, **kwargs: None  # noqa: SLF001 - a kill sends nothing
    consumer.close(autocommit=False)


def test_a_static_member_restarted_gets_its_partitions_back_before_the_dead_session_ends(settings: Settings) -> None:
    s = settings.model_copy(update={"kafka_instance_id": "worker-a"})
    first = make_consumer(s, s.topic_pages, s.ingest_group_id, client_id="rasd-ingest")
    assert _assigned(first, 30) is not None
    before = first.assignment()
    _crash(first)

    second = make_consumer(s, s.topic_pages, s.ingest_group_id, client_id="rasd-ingest")
    try:
        waited = _assigned(second, 30)
        assert waited is not None and waited < SESSION_S / 2, f"partitions back after {waited} s"
        assert second.assignment() == before
    finally:
        second.close(autocommit=False)


def test_without_an_instance_id_a_restarted_member_waits_for_the_dead_session(settings: Settings) -> None:
    first = make_consumer(settings, settings.topic_pages, settings.ingest_group_id, client_id="rasd-ingest")
    assert _assigned(first, 30) is not None
    _crash(first)

    second = make_consumer(settings, settings.topic_pages, settings.ingest_group_id, client_id="rasd-ingest")
    try:
        waited = _assigned(second, 40)
        # the group rebalances only once the dead member's session expired
        assert waited is not None and waited >= SESSION_S / 2, f"partitions back after {waited} s"
    finally:
        second.close(autocommit=False)


def test_a_second_live_process_under_the_same_name_fences_the_first(settings: Settings) -> None:
    s = settings.model_copy(update={"kafka_instance_id": "worker-b"})
    first = make_consumer(s, s.topic_pages, s.ingest_group_id, client_id="rasd-ingest")
    second: KafkaConsumer | None = None
    try:
        assert _assigned(first, 30) is not None
        second = make_consumer(s, s.topic_pages, s.ingest_group_id, client_id="rasd-ingest")
        assert _assigned(second, 30) is not None
        with pytest.raises(FencedInstanceIdError):
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                first.poll(timeout_ms=200)
                first.commit()
    finally:
        for consumer in (first, second):
            if consumer is not None:
                try:
                    consumer.close(autocommit=False)
                except Exception:  # noqa: BLE001 - the fenced one may refuse to close cleanly
                    pass

"""A batch's outputs and its input offsets commit together
(``TransactionalPublisher``), on the real broker: what a batch sent before
it died, lost its partitions or was fenced is never read by the pipeline's
readers (``read_committed``), and its replay is read once."""
from __future__ import annotations

import time
from collections import Counter

import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

from ingest.kafka_connection import kafka_client_kwargs
from ingest.kafka_io import NotAcknowledged, make_consumer
from ingest.kafka_transactions import TransactionalPublisher
from ingest.models import DeadLetter
from ingest.settings import Settings
from tests.crawlers.topics import read_topic
from tests.waiting import wait_for

pytestmark = pytest.mark.services


def _joined(*consumers: KafkaConsumer, timeout_s: float = 40.0) -> None:
    """Poll every consumer until each has partitions (a join completes only
    while every member of the group polls)."""
    deadline = time.monotonic() + timeout_s
    while not all(c.assignment() for c in consumers):
        assert time.monotonic() < deadline, "the group never settled"
        for consumer in consumers:
            consumer.poll(timeout_ms=100)


def _letters(n: int) -> list[DeadLetter]:
    return [DeadLetter(stage="ingest", reason="http_error", detail="HTTP 404", url=f"https://example.org/{i}.html")
            for i in range(n)]


def _send(publisher: TransactionalPublisher, settings: Settings, letters: list[DeadLetter]) -> None:
    for letter in letters:
        publisher.send(settings.topic_dead_letters, letter, key=letter.key)


def _offsets(settings: Settings, offset: int) -> dict[TopicPartition, OffsetAndMetadata]:
    return {TopicPartition(settings.topic_pages, 0): OffsetAndMetadata(offset, None, -1)}


def _committed(consumer: KafkaConsumer, settings: Settings) -> int | None:
    return consumer.committed(TopicPartition(settings.topic_pages, 0))


@pytest.fixture
def member(settings: Settings):
    consumer = make_consumer(settings, settings.topic_pages, settings.ingest_group_id, client_id="rasd-ingest")
    _joined(consumer)
    yield consumer
    consumer.close(autocommit=False)


def _batch(settings: Settings, member: KafkaConsumer, letters: list[DeadLetter], offset: int) -> None:
    """One worker's batch: ``letters`` out and the input at ``offset``, committed together."""
    publisher = TransactionalPublisher(settings, client_id="rasd-ingest")
    try:
        _send(publisher, settings, letters)
        publisher.commit(_offsets(settings, offset), member.group_metadata())
    finally:
        publisher.close()


def test_outputs_and_input_offsets_commit_together(settings: Settings, member: KafkaConsumer) -> None:
    _batch(settings, member, _letters(3), 7)
    assert Counter(key for key, _ in read_topic(settings, settings.topic_dead_letters, DeadLetter)) == \
        {letter.key.encode(): 1 for letter in _letters(3)}
    assert _committed(member, settings) == 7


def test_a_batch_that_died_before_its_commit_is_never_read_and_its_replay_is_read_once(
    settings: Settings, member: KafkaConsumer
) -> None:
    named = settings.model_copy(update={"kafka_instance_id": "worker-1"})
    dead = TransactionalPublisher(named, client_id="rasd-ingest")
    _send(dead, named, _letters(3))
    dead.flush()  # on the topic, in a transaction that never commits: the process is "killed" here
    # The restarted worker, under the same name, aborts what its predecessor left open.
    _batch(named, member, _letters(3), 3)
    read = read_topic(settings, settings.topic_dead_letters, DeadLetter)
    assert sorted(key for key, _ in read) == sorted(letter.key.encode() for letter in _letters(3))
    everything = read_topic(settings, settings.topic_dead_letters, DeadLetter, committed_only=False)
    assert len(everything) == 6, "the dead batch's letters are on the topic, aborted"
    assert _committed(member, settings) == 3


def test_a_commit_after_the_group_moved_on_is_refused_and_nothing_of_the_batch_is_read(
    settings: Settings, member: KafkaConsumer
) -> None:
    stale = member.group_metadata()
    newcomer = make_consumer(settings, settings.topic_pages, settings.ingest_group_id, client_id="rasd-ingest-2")
    publisher = TransactionalPublisher(settings, client_id="rasd-ingest")
    try:
        member.unsubscribe()  # the rebalance takes the partition away from the batch's member
        _joined(newcomer)
        _send(publisher, settings, _letters(2))
        with pytest.raises(NotAcknowledged) as refused:
            publisher.commit(_offsets(settings, 5), stale)
        assert refused.value.transient, "a replay mends it: the partition's new owner reads the batch again"
        assert read_topic(settings, settings.topic_dead_letters, DeadLetter) == []
        assert _committed(newcomer, settings) is None
        # the publisher goes on with the next batch
        _send(publisher, settings, _letters(1))
        publisher.commit(_offsets(settings, 1), newcomer.group_metadata())
        assert [key for key, _ in read_topic(settings, settings.topic_dead_letters, DeadLetter)] == \
            [_letters(1)[0].key.encode()]
    finally:
        publisher.close()
        newcomer.close(autocommit=False)


def test_a_second_live_worker_under_the_same_name_fences_the_first_for_good(
    settings: Settings, member: KafkaConsumer
) -> None:
    named = settings.model_copy(update={"kafka_instance_id": "worker-2"})
    first = TransactionalPublisher(named, client_id="rasd-ingest")
    second = TransactionalPublisher(named, client_id="rasd-ingest")
    try:
        _send(first, named, _letters(1))
        with pytest.raises(NotAcknowledged) as fenced:
            first.commit(_offsets(settings, 1), member.group_metadata())
        assert not fenced.value.transient, "the older worker must stop, not fence the newer one back"
        assert read_topic(settings, settings.topic_dead_letters, DeadLetter) == []
    finally:
        for publisher in (first, second):
            publisher.close()


def test_a_group_drained_of_a_transactional_input_has_committed_its_end_offsets(settings: Settings,
                                                                                member: KafkaConsumer) -> None:
    # Each transaction leaves a commit marker after its records: an offset
    # that is never returned as a record. The drained group must still be at
    # the end (no lag of one per transaction for ever).
    from ingest.batch_loop import run_batches

    publisher = TransactionalPublisher(settings, client_id="rasd-ingest")
    try:
        for batch in range(3):
            _send(publisher, settings, _letters(2))
            publisher.commit(_offsets(settings, batch + 1), member.group_metadata())
    finally:
        publisher.close()
    reader = make_consumer(settings, settings.topic_dead_letters, "marker-readers", client_id="reader")
    seen: list[int] = []
    try:
        run_batches(reader, lambda records: seen.extend(r.offset for r in records), poll_timeout_ms=200,
                    until_end=True)
        partitions = [TopicPartition(settings.topic_dead_letters, p)
                      for p in reader.partitions_for_topic(settings.topic_dead_letters)]
        end = reader.end_offsets(partitions)
        assert len(seen) == 6 and sum(end.values()) > 6, "six letters, and commit markers after them"
        assert {tp: reader.committed(tp) or 0 for tp in partitions} == end
    finally:
        reader.close(autocommit=False)


def _transaction_closed(settings: Settings) -> bool:
    """Whether every dead-letter partition's last stable offset reached its
    end: no transaction is left open there (the broker wrote its marker)."""
    readers = [KafkaConsumer(**kafka_client_kwargs(settings), group_id=None, isolation_level=isolation)
               for isolation in ("read_committed", "read_uncommitted")]
    try:
        tps = [TopicPartition(settings.topic_dead_letters, p)
               for p in sorted(readers[0].partitions_for_topic(settings.topic_dead_letters) or ())]
        stable, end = (reader.end_offsets(tps) for reader in readers)
        return any(end.values()) and stable == end
    finally:
        for reader in readers:
            reader.close()


@pytest.mark.parametrize("instance_id", [None, "worker-3"], ids=["random-name", "stable-name"])
def test_a_transaction_the_broker_aborted_for_outliving_its_timeout_is_replayed_and_the_worker_goes_on(
    settings: Settings, member: KafkaConsumer, instance_id: str | None
) -> None:
    # Kafka away longer than the transaction timeout: the broker aborts the
    # open transaction and bumps the producer's epoch, so the producer is
    # refused as fenced. No other process holds the name: the batch is
    # replayed with a new producer instead of the stage ending.
    timed = settings.model_copy(update={"kafka_transaction_timeout_ms": 1000, "kafka_instance_id": instance_id})
    publisher = TransactionalPublisher(timed, client_id="rasd-ingest")
    try:
        _send(publisher, timed, _letters(2))
        publisher.flush()
        # the broker looks for expired transactions every 10 s by default
        wait_for(lambda: _transaction_closed(timed), 40, "the broker aborting the expired transaction")
        with pytest.raises(NotAcknowledged) as refused:
            publisher.commit(_offsets(timed, 2), member.group_metadata())
        assert refused.value.transient, f"a replay mends it: {refused.value}"
        assert read_topic(timed, timed.topic_dead_letters, DeadLetter) == []
        assert _committed(member, timed) is None
        _send(publisher, timed, _letters(2))
        publisher.commit(_offsets(timed, 2), member.group_metadata())
        assert sorted(key for key, _ in read_topic(timed, timed.topic_dead_letters, DeadLetter)) == \
            sorted(letter.key.encode() for letter in _letters(2))
        assert _committed(member, timed) == 2
    finally:
        publisher.close()

"""The consume loops on the real Kafka: a batch is committed only once it
was handled; in the overlapped loop a batch's tail runs while the next
batch is prepared, and offsets are committed only for batches whose tail
returned, in order, also when the group rebalances."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from ingest.batch_loop import LoopStats, run_batches, run_overlapped_batches
from ingest.kafka_connection import kafka_client_kwargs
from ingest.kafka_io import make_consumer
from ingest.settings import Settings

WAIT_S = 30


def _produce(settings: Settings, count: int) -> None:
    producer = KafkaProducer(**kafka_client_kwargs(settings))
    for i in range(count):
        producer.send(settings.topic_pages, value=str(i).encode(), partition=i % 3)
    producer.flush()
    producer.close()


def _committed(settings: Settings, group: str) -> dict[int, int]:
    consumer = KafkaConsumer(**kafka_client_kwargs(settings), group_id=group,
                             enable_auto_commit=False)
    try:
        return {p: consumer.committed(TopicPartition(settings.topic_pages, p)) or 0 for p in range(3)}
    finally:
        consumer.close(autocommit=False)


def _consumer(settings: Settings, max_records: int) -> KafkaConsumer:
    return make_consumer(settings.model_copy(update={"batch_max_records": max_records}), settings.topic_pages,
                         settings.ingest_group_id, client_id="overlap-test")


def _values(records: Sequence[ConsumerRecord]) -> list[int]:
    return [int(r.value) for r in records]


def _wait_for_all(settings: Settings, seen: list[int], lock: threading.Lock, end: dict[int, int],
                  errors: list[BaseException], timeout_s: float = 120) -> None:
    """Until every record produced was handled and the group's committed
    offsets reached ``end`` (or a loop failed, or the time ran out: the
    caller's assertions then say what is missing)."""
    total = sum(end.values())
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not errors:
        with lock:
            everything = set(seen) == set(range(total))
        if everything and _committed(settings, settings.ingest_group_id) == end:
            return
        time.sleep(0.2)


def _drain(settings: Settings, max_records: int, loop: Callable[..., LoopStats], *handlers: Any,
           **options: Any) -> LoopStats:
    """``loop`` over the topic with a consumer of the test's group, by
    default until it is drained; the consumer is closed however it ends."""
    consumer = _consumer(settings, max_records)
    try:
        return loop(consumer, *handlers, poll_timeout_ms=500, **({"until_end": True} | options))
    finally:
        consumer.close(autocommit=False)


def test_a_batch_finishes_while_the_next_is_prepared_and_commits_only_after_its_finish(settings: Settings) -> None:
    _produce(settings, 60)
    second_prepared = threading.Event()
    prepared: list[list[int]] = []
    finished: list[list[int]] = []
    committed_during_first_finish: list[dict[int, int]] = []

    def prepare(records: Sequence[ConsumerRecord]) -> list[int]:
        prepared.append(_values(records))
        if len(prepared) == 2:
            second_prepared.set()
        return _values(records)

    def finish(values: list[int]) -> None:
        if not finished:
            # Only an overlapping loop prepares the second batch while the first is unfinished.
            assert second_prepared.wait(WAIT_S), "the next batch was not prepared during this batch's finish"
            committed_during_first_finish.append(_committed(settings, settings.ingest_group_id))
        finished.append(values)

    stats = _drain(settings, 10, run_overlapped_batches, prepare, finish)
    assert committed_during_first_finish == [{0: 0, 1: 0, 2: 0}]
    assert finished == prepared  # every batch finished, in the order it was polled
    assert sorted(v for batch in finished for v in batch) == list(range(60))
    assert stats.records == 60 and stats.batches == len(finished)
    assert _committed(settings, settings.ingest_group_id) == {0: 20, 1: 20, 2: 20}


def test_a_failed_finish_ends_the_loop_with_that_batch_and_the_next_uncommitted(settings: Settings) -> None:
    _produce(settings, 60)
    finished: list[list[int]] = []
    prepared: list[list[int]] = []

    def prepare(records: Sequence[ConsumerRecord]) -> list[int]:
        prepared.append(_values(records))
        return _values(records)

    def finish(values: list[int]) -> None:
        if len(finished) == 2:
            raise RuntimeError("the store refused the batch")
        finished.append(values)

    with pytest.raises(RuntimeError, match="refused"):
        _drain(settings, 6, run_overlapped_batches, prepare, finish)
    done = {v for batch in finished for v in batch}
    committed = _committed(settings, settings.ingest_group_id)
    # Exactly the two finished batches are committed: per partition, the
    # committed offset is the number of that partition's records finished.
    assert committed == {p: sum(1 for v in done if v % 3 == p) for p in range(3)}
    assert len(prepared) >= 3
    # A new consumer of the group takes up from the first unfinished record.
    replayed: list[int] = []
    _drain(settings, 100, run_overlapped_batches, _values, replayed.extend)
    assert sorted(replayed) == sorted(set(range(60)) - done)


def test_a_failed_prepare_waits_for_the_batch_in_flight_and_commits_nothing_more(settings: Settings) -> None:
    _produce(settings, 30)
    finished: list[list[int]] = []
    calls = 0

    def prepare(records: Sequence[ConsumerRecord]) -> list[int]:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise ValueError("a bug in extraction")
        return _values(records)

    def finish(values: list[int]) -> None:
        finished.append(values)

    with pytest.raises(ValueError, match="bug"):
        _drain(settings, 5, run_overlapped_batches, prepare, finish)
    # the first batch's finish ran to its end before the loop returned ...
    assert len(finished) == 1
    # ... but nothing was committed after the error
    assert _committed(settings, settings.ingest_group_id) == {0: 0, 1: 0, 2: 0}


def test_max_batches_counts_committed_batches(settings: Settings) -> None:
    _produce(settings, 30)
    finished: list[list[int]] = []
    stats = _drain(settings, 4, run_overlapped_batches, _values, finished.append, until_end=False, max_batches=3)
    assert stats.batches == 3 and len(finished) == 3
    assert sum(_committed(settings, settings.ingest_group_id).values()) == sum(len(b) for b in finished)


def test_two_consumers_joining_mid_run_process_everything_and_commit_to_the_end(settings: Settings) -> None:
    """The second consumer's arrival rebalances the group while the first has
    a batch in flight: nothing is lost, neither loop dies, and the group's
    committed offsets end at the end of every partition."""
    total = 600
    _produce(settings, total)
    seen: list[int] = []
    lock = threading.Lock()
    first_started = threading.Event()
    errors: list[BaseException] = []

    def finish(values: list[int]) -> None:
        with lock:
            seen.extend(values)
        first_started.set()

    stop = threading.Event()

    def run() -> None:
        consumer = _consumer(settings, 7)
        try:
            run_overlapped_batches(consumer, _values, finish, poll_timeout_ms=300, stop=stop)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            consumer.close(autocommit=False)

    first = threading.Thread(target=run)
    first.start()
    assert first_started.wait(WAIT_S)
    second = threading.Thread(target=run)
    second.start()
    end = {0: 200, 1: 200, 2: 200}
    try:
        _wait_for_all(settings, seen, lock, end, errors)
    finally:
        stop.set()
        first.join(60)
        second.join(60)
    assert not first.is_alive() and not second.is_alive()
    assert errors == []
    assert set(seen) == set(range(total))  # replays are allowed, losses are not
    assert _committed(settings, settings.ingest_group_id) == end


@pytest.mark.parametrize("loop", [run_overlapped_batches, run_batches], ids=["overlapped", "plain"])
def test_a_member_finishes_and_commits_its_batch_before_it_rejoins_so_joins_replay_nothing(
        settings: Settings, loop: Callable[..., LoopStats]) -> None:
    """A second and then a third consumer join while the ones at work are
    always in the middle of a slow batch (a struggling store): each hands
    partitions over only after its batch in flight is committed, so a
    newcomer starts where the old owner ended and no record is handled
    twice. (Rejoining first, the overlapped loop handed its batch in flight
    over uncommitted and its records were handled again in about half of
    the runs.)"""
    total = 150
    _produce(settings, total)
    seen: list[int] = []
    lock = threading.Lock()
    errors: list[BaseException] = []
    stop = threading.Event()

    def handle(values: list[int]) -> None:
        time.sleep(0.3)
        with lock:
            seen.extend(values)

    def run() -> None:
        consumer = _consumer(settings, 5)
        try:
            handlers = (_values, handle) if loop is run_overlapped_batches else (lambda rs: handle(_values(rs)),)
            loop(consumer, *handlers, poll_timeout_ms=300, stop=stop)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            consumer.close(autocommit=False)

    threads: list[threading.Thread] = []
    try:
        for member in range(3):
            # each newcomer joins once a fifth more of the records is handled
            deadline = time.monotonic() + WAIT_S
            while member and len(seen) < 30 * member and time.monotonic() < deadline and not errors:
                time.sleep(0.05)
            assert len(seen) >= 30 * member, errors
            threads.append(threading.Thread(target=run))
            threads[-1].start()
        end = {0: 50, 1: 50, 2: 50}
        _wait_for_all(settings, seen, lock, end, errors)
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
    assert errors == []
    assert sorted(seen) == list(range(total))  # every record once: none lost, none handled again
    assert _committed(settings, settings.ingest_group_id) == end


def test_run_batches_commits_each_batch_once_handled_and_nothing_after_a_failure(settings: Settings) -> None:
    _produce(settings, 30)
    handled: list[list[int]] = []
    committed_when_handled: list[int] = []

    def handle(records: Sequence[ConsumerRecord]) -> None:
        # the batch before this one is committed already, this one not yet
        committed_when_handled.append(sum(_committed(settings, settings.ingest_group_id).values()))
        if len(handled) == 3:
            raise RuntimeError("a dead letter was refused")
        handled.append(_values(records))

    with pytest.raises(RuntimeError, match="refused"):
        _drain(settings, 5, run_batches, handle)
    sizes = [len(batch) for batch in handled]
    assert committed_when_handled == [sum(sizes[:i]) for i in range(4)]
    assert sum(_committed(settings, settings.ingest_group_id).values()) == sum(sizes)
    rest: list[int] = []
    stats = _drain(settings, 100, run_batches, lambda records: rest.extend(_values(records)))
    assert sorted(rest + [v for batch in handled for v in batch]) == list(range(30))
    assert stats.records == len(rest)


@pytest.mark.parametrize("overlapped", [False, True], ids=["run_batches", "run_overlapped_batches"])
def test_outputs_kafka_did_not_acknowledge_are_retried_by_reading_the_batch_again(
    settings: Settings, overlapped: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A transient refusal (the broker away, a send timed out) must not end
    # the loop: the batch and any prepared after it are read again.
    from ingest.kafka_io import NotAcknowledged

    _produce(settings, 30)
    handled: list[list[int]] = []
    failures = iter([True, False, False, True])

    def handle(values: list[int]) -> None:
        if next(failures, False):
            raise NotAcknowledged("1 Kafka send(s) failed, first: KafkaTimeoutError()", transient=True)
        handled.append(values)

    monkeypatch.setattr("ingest.batch_loop.OUTAGE_FIRST_S", 0.05)
    if overlapped:
        stats = _drain(settings, 5, run_overlapped_batches, _values, handle)
    else:
        stats = _drain(settings, 5, run_batches, lambda records: handle(_values(records)))
    delivered = [v for batch in handled for v in batch]
    assert sorted(set(delivered)) == list(range(30)), "every record handled once Kafka answered"
    assert stats.records == len(delivered)
    assert _committed(settings, settings.ingest_group_id) == {0: 10, 1: 10, 2: 10}


def test_a_refusal_kafka_says_is_final_ends_the_loop_with_the_batch_uncommitted(settings: Settings) -> None:
    from ingest.kafka_io import NotAcknowledged

    _produce(settings, 12)

    def handle(records: Sequence[ConsumerRecord]) -> None:
        raise NotAcknowledged("1 Kafka send(s) failed, first: MessageSizeTooLargeError()", transient=False)

    with pytest.raises(NotAcknowledged):
        _drain(settings, 4, run_batches, handle)
    assert _committed(settings, settings.ingest_group_id) == {0: 0, 1: 0, 2: 0}


def test_slow_records_make_smaller_batches_so_a_batch_stays_within_its_time_bound(settings: Settings) -> None:
    # 20 ms a record against a bound of 0.1 s: after the first batch (50
    # records, 1 s) polls take about 5 records, so each commit comes soon.
    _produce(settings, 120)
    sizes: list[int] = []

    def handle(records: Sequence[ConsumerRecord]) -> None:
        sizes.append(len(records))
        time.sleep(0.02 * len(records))  # the work a slow store would make each record take

    stats = _drain(settings, 50, run_batches, handle, batch_max_s=0.1)
    assert stats.records == 120
    assert sizes[0] > 10, "the first batch is not timed yet: the record limit applies"
    assert max(sizes[1:]) <= 6, sizes


@pytest.mark.parametrize("loop", [run_batches, run_overlapped_batches])
def test_a_drain_run_ends_at_the_last_batch_without_waiting_out_a_poll(settings: Settings, loop: Callable[..., LoopStats]) -> None:
    _produce(settings, 30)
    consumer = _consumer(settings, 10)
    polls: list[tuple[int, int]] = []  # (timeout_ms, records returned)
    poll = consumer.poll

    def recorded(timeout_ms: int = 0, **kwargs: Any) -> Any:
        polled = poll(timeout_ms=timeout_ms, **kwargs)
        polls.append((timeout_ms, sum(len(part) for part in polled.values())))
        return polled

    consumer.poll = recorded  # type: ignore[method-assign]
    handlers = (_values,) if loop is run_batches else (_values, lambda values: None)
    try:
        stats = loop(consumer, *handlers, poll_timeout_ms=60_000, until_end=True)
    finally:
        consumer.close(autocommit=False)
    assert stats.records == 30
    last_records = max(i for i, (_timeout, count) in enumerate(polls) if count)
    # after the last records, no poll waited for more: the end offsets were reached
    assert [timeout for timeout, _count in polls[last_records + 1:] if timeout] == []
    assert _committed(settings, settings.ingest_group_id) == {0: 10, 1: 10, 2: 10}


def test_only_a_member_of_a_group_that_shares_out_partitions_waits_for_a_rebalance(settings: Settings) -> None:
    """A consumer reading partitions assigned by hand never joins a group:
    kafka-python's rejoin flag stays set on it, and taking that for a
    rebalance would settle every batch before the next poll (no overlap)."""
    from ingest.batch_loop import rebalance_pending

    _produce(settings, 3)
    by_hand = make_consumer(settings, None, None, client_id="by-hand")
    try:
        by_hand.assign([TopicPartition(settings.topic_pages, 0)])
        assert by_hand.poll(timeout_ms=5000)
        assert not rebalance_pending(by_hand)
    finally:
        by_hand.close(autocommit=False)
    member = _consumer(settings, 5)
    try:
        deadline = time.monotonic() + WAIT_S
        while not member.assignment() and time.monotonic() < deadline:
            member.poll(timeout_ms=200)
        assert member.assignment() and not rebalance_pending(member)
    finally:
        member.close(autocommit=False)

"""run_indexer against real Kafka and both real engines."""
from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import TypeVar

import pytest

from indexer.mapping import first_index
from indexer.worker import group_id, run_indexer
from tests.indexer.support import (
    BulkHoldingProxy,
    IndexerThread,
    committed_and_end_offsets,
    fully_committed,
    make_article,
    publish_articles,
    publish_raw,
    read_dead_letters,
)
from indexer.engines.detect import open_engine

pytestmark = pytest.mark.services

IDLE_S = 5.0
T = TypeVar("T")


def wait_for(condition: Callable[[], T], timeout_s: float) -> T:
    deadline = time.monotonic() + timeout_s
    while not (value := condition()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)
    return value


def test_articles_are_indexed_and_offsets_committed(engine, settings, alias):
    publish_articles(settings, [make_article(n) for n in range(12)])
    stats = run_indexer(settings, engine, idle_exit_s=IDLE_S)
    assert (stats.indexed, stats.dead_lettered) == (12, 0)
    engine.refresh(alias)
    assert engine.count(alias) == 12
    stored = engine.get(alias, make_article(5).id)
    assert stored["url"] == make_article(5).url and stored["indexed_at"]
    assert fully_committed(settings, group_id(settings, engine))


def test_default_group_id_is_per_engine_distribution(engine, settings):
    assert group_id(settings.model_copy(update={"indexer_group_id": None}), engine) == (
        f"rasd-indexer-{engine.distribution}"
    )


def test_replaying_the_topic_and_refetched_articles_leave_one_document_each(engine, settings, alias):
    refetch = make_article(3, title="Corrected headline")
    publish_articles(settings, [make_article(n) for n in range(5)] + [refetch])
    first = run_indexer(settings, engine, idle_exit_s=IDLE_S)
    # a second group reads the same topic again from the start: a full replay
    replay_settings = settings.model_copy(update={"indexer_group_id": f"{group_id(settings, engine)}-replay"})
    second = run_indexer(replay_settings, engine, idle_exit_s=IDLE_S)
    assert first.records == second.records == 6
    engine.refresh(alias)
    assert engine.count(alias) == 5
    assert engine.get(alias, refetch.id)["title"] == "Corrected headline"


def test_max_batches_stops_after_that_many_committed_batches(engine, settings, alias):
    settings = settings.model_copy(update={"batch_max_records": 10})
    publish_articles(settings, [make_article(n) for n in range(25)])
    stats = run_indexer(settings, engine, idle_exit_s=IDLE_S, max_batches=1)
    assert stats.batches == 1 and 1 <= stats.records <= 10
    committed, _ = committed_and_end_offsets(settings, group_id(settings, engine))
    assert sum(c or 0 for c in committed.values()) == stats.records


def test_invalid_messages_go_to_dead_letters_with_their_position(engine, settings, alias):
    too_long_id = make_article(99).model_copy(update={"id": "x" * 600})
    publish_raw(settings, [b"not json at all", b'{"schema_name": "rasd.page"}', None])
    publish_articles(settings, [make_article(1), too_long_id, make_article(2)])
    stats = run_indexer(settings, engine, idle_exit_s=IDLE_S)
    assert (stats.indexed, stats.dead_lettered) == (2, 4)
    letters = read_dead_letters(settings, expected=4)
    assert len(letters) == 4
    assert {(d.stage, d.reason) for d in letters} == {("index", "invalid_message")}
    assert all(d.input_topic == settings.topic_articles and d.input_offset is not None for d in letters)
    assert all(d.input_partition is not None for d in letters)
    excerpts = {d.payload_excerpt for d in letters}
    assert "not json at all" in excerpts
    assert any("512 bytes" in d.detail for d in letters)
    assert any("tombstone" in d.detail for d in letters)
    engine.refresh(alias)
    assert engine.count(alias) == 2
    assert fully_committed(settings, group_id(settings, engine))


def test_documents_the_engine_rejects_go_to_dead_letters_with_the_engines_reason(engine, settings, alias):
    # a keyword value above Lucene's 32 766-byte term limit: the engine refuses the document
    broken = make_article(2, domain="d" * 40_000)
    publish_articles(settings, [make_article(1), broken, make_article(3)])
    stats = run_indexer(settings, engine, idle_exit_s=IDLE_S)
    assert (stats.indexed, stats.dead_lettered) == (2, 1)
    (letter,) = read_dead_letters(settings, expected=1)
    assert (letter.stage, letter.reason, letter.url) == ("index", "index_rejected", broken.url)
    assert "domain" in letter.detail and "immense" in letter.detail.lower()
    engine.refresh(alias)
    assert engine.count(alias) == 2
    assert fully_committed(settings, group_id(settings, engine))


def test_engine_failing_every_bulk_stalls_the_indexer_until_stopped_with_the_batch_uncommitted_then_a_restart_indexes_it(
    engine, engine_url, settings, alias
):
    publish_articles(settings, [make_article(n) for n in range(4)])
    fast = settings.model_copy(update={"index_retry_initial_s": 0.05, "index_retry_max_s": 0.2})
    proxy = BulkHoldingProxy(engine_url, hold_s=0, drop_bulk=True)
    flaky = open_engine(proxy.url, timeout_s=10.0)
    indexer = IndexerThread(fast, flaky)
    stop, outcome, worker = indexer.stop, indexer.outcome, indexer.thread
    try:
        worker.start()
        # far past the old retry budget (8 attempts): still waiting, not raising
        wait_for(lambda: proxy.bulk_requests >= 12 or not worker.is_alive(), timeout_s=60)
        assert worker.is_alive() and "error" not in outcome
        stop.set()
        worker.join(timeout=30)
    finally:
        stop.set()
        flaky.close()
        proxy.close()
    assert not worker.is_alive() and "error" not in outcome
    stats = outcome["stats"]
    assert stats.stalls == 1 and stats.stalled_since is not None and "unreachable" in stats.stall_reason
    assert stats.batches == 0
    committed, end = committed_and_end_offsets(settings, group_id(settings, engine))
    assert all(c is None for c in committed.values()) and sum(end.values()) == 4
    stats = run_indexer(settings, engine, idle_exit_s=IDLE_S)
    assert stats.indexed == 4
    engine.refresh(alias)
    assert engine.count(alias) == 4
    assert fully_committed(settings, group_id(settings, engine))


def test_a_stall_longer_than_max_poll_interval_keeps_the_consumer_in_its_group_and_then_commits(
    engine, engine_url, settings, alias
):
    articles = [make_article(n) for n in range(30)]
    publish_articles(settings, articles)
    patient = settings.model_copy(
        update={"index_retry_initial_s": 0.1, "index_retry_max_s": 0.5, "kafka_max_poll_interval_ms": 3_000}
    )
    proxy = BulkHoldingProxy(engine_url, hold_s=0, drop_bulk=True)
    flaky = open_engine(proxy.url, timeout_s=10.0)
    indexer = IndexerThread(patient, flaky, until_end=True)
    stop, outcome, worker = indexer.stop, indexer.outcome, indexer.thread
    try:
        worker.start()
        stalled_at = wait_for(lambda: proxy.bulk_requests >= 1 and time.monotonic(), timeout_s=60)
        # three max_poll_intervals without a batch finishing
        wait_for(lambda: time.monotonic() - stalled_at > 9 or not worker.is_alive(), timeout_s=30)
        assert worker.is_alive() and "error" not in outcome
        proxy._drop_bulk = False  # the engine is back
        worker.join(timeout=60)
    finally:
        stop.set()
        flaky.close()
        proxy.close()
    # an evicted consumer could not commit: run_indexer would have raised
    assert "error" not in outcome, outcome.get("error")
    stats = outcome["stats"]
    assert stats.indexed == 30 and stats.stalls == 1 and stats.stall_seconds > 9
    assert stats.stalled_since is None and stats.stall_reason is None
    engine.refresh(alias)
    assert engine.count(alias) == 30
    assert fully_committed(settings, group_id(settings, engine))


def test_a_mapping_conflict_goes_to_dead_letters_with_the_engines_error_type_and_reason(engine, settings, alias):
    # An index made by hand (or by an old template) where `source` is a
    # number: the engine cannot parse the articles' source names.
    engine.create_index(
        first_index(alias),
        {"mappings": {"properties": {"source": {"type": "long"}}}, "aliases": {alias: {"is_write_index": True}}},
    )
    numeric = make_article(2, source="12345")
    publish_articles(settings, [make_article(1), numeric])
    stats = run_indexer(settings, engine, until_end=True)
    assert (stats.indexed, stats.dead_lettered, stats.stalls) == (1, 1, 0)
    (letter,) = read_dead_letters(settings, expected=1)
    assert (letter.stage, letter.reason, letter.url) == ("index", "index_rejected", make_article(1).url)
    # OpenSearch says mapper_parsing_exception, Elasticsearch 9 document_parsing_exception
    assert re.match(r"HTTP 400: (mapper|document)_parsing_exception: ", letter.detail), letter.detail
    assert "[source]" in letter.detail and "long" in letter.detail
    engine.refresh(alias)
    assert engine.count(alias) == 1 and engine.get(alias, numeric.id) is not None
    assert fully_committed(settings, group_id(settings, engine))

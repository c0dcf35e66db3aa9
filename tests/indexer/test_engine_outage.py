"""Fault test (issue 8): the search engine is stopped for 60 s in the middle
of indexing and started again. The indexer waits in its thread (no exit, no
exception) and afterwards every article is in the index exactly once.

The engine is a private OpenSearch started for this test from the shared
download cache (the shared test stack is never stopped); Kafka is the
shared one, on private topics."""
from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.stack import manager
from indexer.engines.base import SearchEngine
from indexer.engines.detect import open_engine
from indexer.worker import IndexerStats, group_id
from ingest.engines.errors import EngineError
from ingest.settings import Settings
from tests.waiting import wait_for
from tests.indexer.support import IndexerThread, fully_committed, make_article, publish_articles

pytestmark = pytest.mark.services

OUTAGE_S = 60.0


def _free_opensearch_port() -> int:
    # the settings accept 9201-9299; the runner binds exactly this port
    for port in range(9298, 9260, -1):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port in 9261-9298 for a private OpenSearch")


@pytest.fixture
def private_opensearch(stack_settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    """Stack settings of a private OpenSearch (own stack_dir and port; the
    downloads are the shared stack's, linked, so nothing is fetched)."""
    stack_dir = tmp_path / "stack"
    stack_dir.mkdir()
    (stack_dir / "cache").symlink_to(manager.cache_dir(stack_settings), target_is_directory=True)
    private = stack_settings.model_copy(update={"stack_dir": stack_dir, "stack_opensearch_port": _free_opensearch_port()})
    manager.up(private, ["opensearch"])
    try:
        yield private
    finally:
        manager.down(private, ["opensearch"])


def indexed(engine: SearchEngine, alias: str) -> int:
    """Documents searchable behind ``alias`` (0 before the indexer made it)."""
    try:
        engine.refresh(alias)
        return engine.count(alias)
    except EngineError as exc:
        if exc.status != 404:
            raise
        return 0


def test_engine_stopped_for_60s_mid_indexing_the_indexer_waits_and_nothing_is_lost_or_duplicated(
    settings: Settings, private_opensearch: Settings
) -> None:
    url = manager.SERVICES["opensearch"].endpoint(private_opensearch)
    s = settings.model_copy(
        update={
            "search_url": url,
            # small batches, so that the outage falls in the middle of the topic
            "batch_max_records": 20,
            "index_retry_initial_s": 0.2,
            "index_retry_max_s": 2.0,
            # shorter than the outage: the stalled consumer must stay in its group
            "kafka_max_poll_interval_ms": 20_000,
            "index_stall_log_interval_s": 10.0,
        }
    )
    before = [make_article(n, body=f"Short article {n}.") for n in range(3000)]
    during = [make_article(n, body=f"Short article {n}.") for n in range(3000, 3500)]
    # re-fetches of articles already produced: updates, not new documents
    updates = [make_article(n, title=f"Updated {n}") for n in range(0, 3500, 50)]
    ids = {a.id for a in before + during}
    publish_articles(s, before)

    engine = open_engine(url, timeout_s=10.0)
    indexer = IndexerThread(s, engine)
    stop, outcome, worker = indexer.stop, indexer.outcome, indexer.thread
    try:
        worker.start()
        at_stop = wait_for(lambda: (n := indexed(engine, s.articles_alias)) >= 300 and n, 60, "300 documents")
        assert at_stop < len(before), "everything was indexed before the engine could be stopped"
        manager.down(private_opensearch, ["opensearch"])
        down_at = time.monotonic()
        publish_articles(s, during + updates)
        while time.monotonic() - down_at < OUTAGE_S:
            assert worker.is_alive(), f"the indexer ended during the outage: {outcome}"
            time.sleep(1.0)
        manager.up(private_opensearch, ["opensearch"])
        wait_for(lambda: fully_committed(s, group_id(s, engine)) or not worker.is_alive(), 120, "the topic drained")
        assert worker.is_alive() and not outcome, outcome
        assert indexed(engine, s.articles_alias) == len(ids)
        matching = engine.count_raw(s.articles_alias, {"query": {"ids": {"values": sorted(ids)}}})["count"]
        assert matching == len(ids)
        assert engine.get(s.articles_alias, updates[-1].id)["title"] == updates[-1].title
    finally:
        stop.set()
        worker.join(timeout=60)
        engine.close()
    assert "error" not in outcome, outcome.get("error")
    stats: IndexerStats = outcome["stats"]
    assert stats.stalls >= 1 and stats.stall_seconds >= OUTAGE_S * 0.9 and stats.stalled_since is None
    assert stats.dead_lettered == 0


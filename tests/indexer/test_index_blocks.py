"""Fault test (issue 9): an index that refuses writes, as a full disk makes
it (the flood-stage watermark sets ``read_only_allow_delete`` on every
index of the node) or as an operator does (``read_only``, ``write``).
The indexer stalls visibly (``index_stalled``, stall statistics), dead-
letters nothing, commits nothing it did not write, and carries on when the
block is lifted, on both engines."""
from __future__ import annotations

import json

import pytest
import urllib3
from structlog.testing import capture_logs

from indexer.engines.base import SearchEngine
from indexer.worker import IndexerStats, group_id
from ingest.settings import Settings
from tests.waiting import wait_for
from tests.indexer.support import IndexerThread, fully_committed, make_article, publish_articles


def _set_block(url: str, alias: str, block: str, value: bool | None) -> None:
    http = urllib3.PoolManager(timeout=30.0, retries=False)
    try:
        indices = json.loads(http.request("GET", f"{url}/_alias/{alias}").data)
        for index in indices:
            answer = http.request("PUT", f"{url}/{index}/_settings", body=json.dumps({f"index.blocks.{block}": value}),
                                  headers={"Content-Type": "application/json"})
            assert answer.status == 200, answer.data
    finally:
        http.clear()


@pytest.mark.parametrize("block", ["read_only_allow_delete", "read_only", "write"])
def test_a_write_blocked_index_stalls_the_indexer_visibly_until_the_block_is_lifted(
    settings: Settings, engine: SearchEngine, engine_url: str, block: str
) -> None:
    s = settings.model_copy(update={
        "batch_max_records": 20, "index_retry_initial_s": 0.1, "index_retry_max_s": 0.5,
        "index_stall_log_interval_s": 0.5,
    })
    group = group_id(s, engine)
    before = [make_article(n) for n in range(40)]
    during = [make_article(n) for n in range(40, 80)]
    updates = [make_article(n, title=f"Updated {n}") for n in range(0, 40, 10)]
    publish_articles(s, before)
    indexer = IndexerThread(s, engine)
    with capture_logs() as logs:
        try:
            indexer.thread.start()
            wait_for(lambda: fully_committed(s, group), 60, "the first articles committed")
            _set_block(engine_url, s.articles_alias, block, True)
            publish_articles(s, during + updates)
            wait_for(lambda: any(e["event"] == "index_stalled" for e in logs), 60, "the stall logged")
            stalled = next(e for e in logs if e["event"] == "index_stalled")
            assert "cluster_block_exception" in stalled["reason"] or "blocked" in stalled["reason"], stalled
            assert indexer.thread.is_alive(), indexer.outcome
            assert not fully_committed(s, group), "a batch the engine refused was committed"
            _set_block(engine_url, s.articles_alias, block, None)
            wait_for(lambda: fully_committed(s, group) or not indexer.thread.is_alive(), 60, "the topic drained")
            assert indexer.thread.is_alive(), indexer.outcome
        finally:
            indexer.stop.set()
            indexer.thread.join(timeout=60)
    engine.refresh(s.articles_alias)
    assert engine.count(s.articles_alias) == 80
    assert engine.get(s.articles_alias, updates[-1].id)["title"] == updates[-1].title
    assert any(e["event"] == "index_stall_over" for e in logs)
    stats: IndexerStats = indexer.outcome["stats"]  # type: ignore[assignment]
    assert stats.dead_lettered == 0 and stats.stalls >= 1 and stats.stalled_since is None

"""The indexer's metrics: documents and batch latency after a real run, and
a stall that keeps the process live while it shows in rasd_index_stalled."""
from __future__ import annotations

import threading

import pytest

from indexer.stall import GroupKeeper, IndexingStopped, Stall
from indexer.worker import IndexerStats, group_id, run_indexer
from ingest.observability import Liveness, observe
from prometheus_client import REGISTRY
from tests.indexer.support import make_article, publish_articles
from tests.observability_support import scrape, value


@pytest.mark.services
def test_an_indexer_run_counts_documents_and_batches_and_its_lag_drains(opensearch_engine, settings):
    settings = settings.model_copy(update={"metrics_port": 0, "metrics_lag_interval_s": 0.2})
    publish_articles(settings, [make_article(n) for n in range(7)])
    engine = opensearch_engine.distribution
    with observe(settings, "index") as observed:
        assert observed.port
        before = scrape(observed.port)
        stats = run_indexer(settings, opensearch_engine, until_end=True, liveness=observed.liveness)
        after = scrape(observed.port)

    assert stats.indexed == 7
    assert value(after, "rasd_index_documents_total", engine=engine) - value(
        before, "rasd_index_documents_total", engine=engine) == 7
    assert value(after, "rasd_index_batch_seconds_count", engine=engine) > value(
        before, "rasd_index_batch_seconds_count", engine=engine)
    assert value(after, "rasd_index_documents_per_second", engine=engine) > 0
    group = group_id(settings, opensearch_engine)
    lags = [v for (name, labels), v in after.items()
            if name == "rasd_kafka_consumer_lag" and dict(labels)["group"] == group]
    assert lags and set(lags) == {0.0}


def test_a_stalled_indexer_stays_live_and_shows_the_stall():
    liveness = Liveness(stale_after_s=60)
    ticks: list[float] = []
    stop = threading.Event()

    def tick() -> None:
        ticks.append(liveness.seconds_since_tick())
        liveness.tick()
        if len(ticks) >= 3:
            stop.set()  # enough: end the wait as a SIGTERM would

    stall = Stall("bulk", "stall-test-engine", initial_s=0.05, max_s=0.1, log_interval_s=60, stats=IndexerStats(),
                  keeper=GroupKeeper(None), stop=stop, tick=tick)
    stalled = lambda: REGISTRY.get_sample_value("rasd_index_stalled", {"engine": "stall-test-engine", "step": "bulk"})  # noqa: E731
    with pytest.raises(IndexingStopped):
        for _ in range(100):
            stall.wait("HTTP 503")
            assert stalled() == 1.0
    assert len(ticks) >= 3 and liveness.live()
    stall.end()
    assert stalled() == 0.0

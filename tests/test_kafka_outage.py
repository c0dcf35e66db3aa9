"""Fault test (issue 9): the Kafka broker is stopped for 30 s while pages are
being fed, extracted and indexed, then started again. Neither the ingest
worker nor the indexer ends (no exception, no exit); afterwards every page
fed is searchable exactly once.

The broker is a private Kafka started for this test from the shared download
cache (the shared test stack is never stopped); the search engine is the
shared OpenSearch, on a private alias."""
from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from kafka import KafkaProducer
from kafka.errors import KafkaError

from deploy.stack import manager
from indexer.engines.detect import open_engine
from ingest.engines.errors import EngineError
from ingest.identity import document_id
from ingest.kafka_io import encode, ensure_topics
from ingest.settings import Settings
from ingest.worker import IngestStats, run_ingest
from rasd.bench_extract import generated_pages
from rasd.bench_ingest import _fetched
from tests.waiting import wait_for
from tests.indexer.support import IndexerThread

pytestmark = pytest.mark.services

OUTAGE_S = 30.0
PAGES = 240


class Feeder:
    """Publishes pages one by one at a steady pace, each until Kafka
    acknowledges it (so the outage falls while pages keep coming)."""

    def __init__(self, settings: Settings, values: list[bytes], per_s: float) -> None:
        self.settings, self.values, self.pause_s = settings, values, 1.0 / per_s
        self.acked = 0
        self.thread = threading.Thread(target=self._run, name="feeder", daemon=True)

    def _run(self) -> None:
        producer = KafkaProducer(bootstrap_servers=self.settings.kafka_bootstrap_servers, acks="all",
                                 max_block_ms=2_000, request_timeout_ms=2_000, retries=0)
        try:
            for value in self.values:
                while True:
                    try:
                        producer.send(self.settings.topic_pages, value=value).get(timeout=5)
                        break
                    except KafkaError:
                        time.sleep(0.5)
                self.acked += 1
                time.sleep(self.pause_s)
        finally:
            producer.close(timeout=5)


def _indexed_ids(engine: Any, alias: str) -> list[str]:
    try:
        engine.refresh(alias)
        hits = engine.search_raw(alias, {"size": PAGES * 2, "_source": False, "query": {"match_all": {}}})
    except EngineError as exc:
        if exc.status != 404:
            raise
        return []
    return [hit["_id"] for hit in hits["hits"]["hits"]]


def test_kafka_stopped_for_30s_mid_run_no_stage_ends_and_every_page_is_indexed_once(
    settings: Settings, private_kafka: Settings
) -> None:
    s = settings.model_copy(update={
        "kafka_bootstrap_servers": manager.SERVICES["kafka"].endpoint(private_kafka),
        # small batches: several are in flight when the broker goes away
        "batch_max_records": 10,
        # shorter than the outage: the group is left and joined again
        "kafka_max_poll_interval_ms": 20_000,
    })
    ensure_topics(s)
    pages = generated_pages(PAGES)
    values = [encode(_fetched(body, page.url, page.source or "outage")) for body, page in pages]
    expected = {document_id(page.url) for _, page in pages}
    assert len(expected) == PAGES

    ingest_stop = threading.Event()
    ingest_outcome: dict[str, Any] = {}

    def ingest() -> None:
        try:
            ingest_outcome["stats"] = run_ingest(s, stop=ingest_stop)
        except BaseException as exc:  # the test fails on any exception
            ingest_outcome["error"] = exc

    engine = open_engine(s.search_url, timeout_s=10.0)
    indexer = IndexerThread(s, engine)
    ingest_thread = threading.Thread(target=ingest, name="ingest-under-test", daemon=True)
    feeder = Feeder(s, values, per_s=16.0)
    try:
        ingest_thread.start()
        indexer.thread.start()
        feeder.thread.start()
        wait_for(lambda: len(_indexed_ids(engine, s.articles_alias)) >= 20, 120, "the first documents indexed")
        assert feeder.acked < PAGES, "every page was fed before the broker could be stopped"
        manager.down(private_kafka, ["kafka"])
        down_at = time.monotonic()
        while time.monotonic() - down_at < OUTAGE_S:
            assert ingest_thread.is_alive(), f"the ingest worker ended during the outage: {ingest_outcome}"
            assert indexer.thread.is_alive(), f"the indexer ended during the outage: {indexer.outcome}"
            time.sleep(1.0)
        manager.up(private_kafka, ["kafka"])
        wait_for(lambda: not feeder.thread.is_alive(), 180, "every page fed")
        wait_for(lambda: len(_indexed_ids(engine, s.articles_alias)) >= PAGES
                 or not ingest_thread.is_alive() or not indexer.thread.is_alive(), 240, "every page indexed")
        assert ingest_thread.is_alive() and not ingest_outcome, ingest_outcome
        assert indexer.thread.is_alive() and not indexer.outcome, indexer.outcome
        ids = _indexed_ids(engine, s.articles_alias)
        assert len(ids) == len(set(ids)) == PAGES, "a page lost or indexed twice"
        assert set(ids) == expected
    finally:
        ingest_stop.set()
        indexer.stop.set()
        ingest_thread.join(timeout=120)
        indexer.thread.join(timeout=120)
        engine.close()
    assert "error" not in ingest_outcome, ingest_outcome.get("error")
    assert "error" not in indexer.outcome, indexer.outcome.get("error")
    stats: IngestStats = ingest_outcome["stats"]
    assert stats.articles >= PAGES, "every page became an article (replays may add more)"

"""The extraction log on a real OpenSearch: one record per fetch of a page,
replays overwrite, and an unreachable engine never reaches the worker."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
import structlog

from ingest import extraction_log
from ingest.engines.client import VendorClient
from ingest.engines.detect import open_client
from ingest.engines.errors import EngineUnavailable
from ingest.extraction_log import ExtractionLog, PageOutcome, record_id
from ingest.identity import document_id
from ingest.settings import Settings

WHEN = datetime(2026, 11, 18, 9, 0, tzinfo=timezone.utc)


def outcome(n: int, *, source: str = "alkhabar", classification: str = "article", **changes: object) -> PageOutcome:
    url = f"https://alkhabar.example/news/{n}.html"
    page = PageOutcome(source=source, url=url, page_id=document_id(url), fetched_at=WHEN + timedelta(minutes=n),
                       classification=classification, reason=None if classification == "article" else classification,
                       has_title=True, has_date=True, body_chars=1800 + n, furniture_lines=2)
    return replace(page, **changes)  # type: ignore[arg-type]


def stored(log_client: VendorClient, settings: Settings) -> dict[str, dict]:
    log_client.refresh_index(settings.extraction_log_index)
    body = {"size": 100, "query": {"match_all": {}}}
    return {hit["_id"]: hit["_source"] for hit in log_client.search_raw(settings.extraction_log_index, body)["hits"]["hits"]}


def test_the_id_is_one_fetch_of_one_page_whatever_the_datetime_looks_like() -> None:
    plus_four = timezone(timedelta(hours=4))
    assert record_id("p1", WHEN) == record_id("p1", WHEN.astimezone(plus_four))
    assert record_id("p1", WHEN) == record_id("p1", WHEN + timedelta(microseconds=10))  # below the engine's ms
    assert record_id("p1", WHEN) != record_id("p1", WHEN + timedelta(seconds=1)), "a later fetch is a new record"
    assert record_id("p1", WHEN) != record_id("p2", WHEN)


def test_records_are_stored_with_an_explicit_mapping_and_replays_overwrite(settings, log_client):
    log = ExtractionLog(settings, log_client)
    batch = [outcome(1), outcome(2, classification="empty", body_chars=0, has_title=False, has_date=False),
             outcome(3, classification="not_article", reason="not_article")]
    log.record(batch)
    log.record(batch)  # the batch replayed after a crash before the commit
    # a re-extraction of page 1 (same fetch) with a better extractor
    log.record([replace(batch[0], furniture_lines=5)])
    docs = stored(log_client, settings)
    assert len(docs) == 3
    first = docs[record_id(batch[0].page_id, batch[0].fetched_at)]
    assert first["furniture_lines"] == 5 and first["classification"] == "article"
    assert first["fetched_at"] == "2026-11-18T09:01:00.000+00:00"
    empty = docs[record_id(batch[1].page_id, batch[1].fetched_at)]
    assert (empty["classification"], empty["reason"], empty["has_title"]) == ("empty", "empty", False)
    # the explicit mapping: source aggregates as a keyword, fetched_at ranges as a date
    body = {"size": 0, "query": {"range": {"fetched_at": {"gte": "2026-11-18T09:02:00Z"}}},
            "aggs": {"sources": {"terms": {"field": "source"}}}}
    result = log_client.search_raw(settings.extraction_log_index, body)
    assert [(b["key"], b["doc_count"]) for b in result["aggregations"]["sources"]["buckets"]] == [("alkhabar", 2)]
    log.close()
    assert log_client.index_exists(settings.extraction_log_index), "the caller's client is left open"


def test_a_refused_record_is_logged_and_the_rest_stored(settings, log_client):
    log = ExtractionLog(settings, log_client)
    bad = outcome(2, body_chars="many")  # type: ignore[arg-type]  # the integer field refuses it
    with structlog.testing.capture_logs() as logs:
        log.record([outcome(1), bad])
    assert len(stored(log_client, settings)) == 1
    [refused] = [e for e in logs if e["event"] == "extraction_log_refused"]
    assert refused["refused"] == 1 and refused["log_level"] == "warning"


def test_an_empty_batch_needs_no_engine() -> None:
    def never(settings: Settings) -> VendorClient:
        raise AssertionError("connected for nothing")

    ExtractionLog(Settings(), connect=never).record([])


@pytest.mark.parametrize("reconnect_after_s", [30.0, 0.0])
def test_an_unreachable_engine_never_raises_and_warns_once_per_outage(
    monkeypatch: pytest.MonkeyPatch, reconnect_after_s: float
) -> None:
    monkeypatch.setattr(extraction_log, "RECONNECT_AFTER_S", reconnect_after_s)
    # nothing listens on the discard port: the connection is refused at once
    log = ExtractionLog(Settings(search_url="http://127.0.0.1:9"))
    with structlog.testing.capture_logs() as logs:
        for n in range(3):
            log.record([outcome(n)])
    log.close()
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == ["extraction_log_unavailable"]


def test_the_log_comes_back_with_the_engine(settings, log_client, monkeypatch):
    monkeypatch.setattr(extraction_log, "RECONNECT_AFTER_S", 0.0)
    calls = {"n": 0}

    def flaky(s: Settings) -> VendorClient:
        calls["n"] += 1
        if calls["n"] == 1:
            raise EngineUnavailable("no search engine reachable (test)")
        return open_client(s.search_url, timeout_s=30.0)

    log = ExtractionLog(settings, connect=flaky)
    with structlog.testing.capture_logs() as logs:
        log.record([outcome(1)])  # lost: the engine is down
        log.record([outcome(2)])
    log.close()
    assert [e["event"] for e in logs] == ["extraction_log_unavailable", "extraction_log_back"]
    assert [d["body_chars"] for d in stored(log_client, settings).values()] == [1802]

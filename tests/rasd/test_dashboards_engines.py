"""What the dashboards would ask the real engines, asked of the real
OpenSearch and the real Elasticsearch of the test stack.

The indices are created by the project's own code (the indexer's template
and alias, the alerts index of alert emission, the extraction log's index),
filled with demo data through the same code (``bulk_index`` of indexed
article documents, ``emit_alerts``, ``ExtractionLog.record``). Then, for both
products' NDJSON files rendered for those indices:

- every field an object uses is in ``_field_caps`` (what Kibana and
  Dashboards build their field lists from) with a type the use accepts;
- every panel of the dashboard and every saved search, translated into the
  request the product sends (tests/rasd/kibana_support.py), runs without
  error and returns buckets or hits, and the right ones.

Kibana itself cannot run here, so the translation is this test's reading of
the objects: it covers the constructs the files use and fails on others."""
from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
import urllib3

from indexer.alerts.emit import emit_alerts
from indexer.documents import to_document
from indexer.engines.base import SearchEngine
from indexer.engines.detect import open_engine
from indexer.mapping import template_name
from ingest.extraction_log import ExtractionLog
from ingest.kafka_io import Publisher, ensure_topics, make_producer
from ingest.settings import Settings
from rasd.dashboards import FLAVORS, OVERVIEW, Indices, saved_objects
from tests.rasd.kibana_support import (SavedObjects, demo_alerts, demo_articles, demo_outcomes, leaf_counts,
                                       resolve_time, utcnow)

ENGINES = ("opensearch", "elasticsearch")


@dataclass
class DemoIndices:
    engine_name: str
    url: str
    settings: Settings
    indices: Indices
    now: datetime
    articles: list[Any]
    outcomes: list[Any]
    alerts: list[Any]


def _http() -> urllib3.PoolManager:
    return urllib3.PoolManager(timeout=60.0, retries=False)


def _call(http: urllib3.PoolManager, method: str, url: str, body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    response = http.request(method, url, body=data, headers={"content-type": "application/json"})
    return response.status, json.loads(response.data or b"null")


def _drop(url: str, settings: Settings) -> None:
    http = _http()
    try:
        status, found = _call(http, "GET", f"{url}/_alias/{settings.articles_alias}")
        if status == 200:
            for index in found:
                http.request("DELETE", f"{url}/{index}")
        http.request("DELETE", f"{url}/_index_template/{template_name(settings.articles_alias)}")
        for index in (settings.alerts_index, settings.extraction_log_index):
            http.request("DELETE", f"{url}/{index}")
    finally:
        http.clear()


@pytest.fixture(scope="module", params=ENGINES)
def demo(request: pytest.FixtureRequest, stack_settings: Settings, kafka_bootstrap: str) -> Iterator[DemoIndices]:
    url = request.getfixturevalue(f"{request.param}_url")
    settings = stack_settings.namespaced(f"t{uuid.uuid4().hex[:8]}").model_copy(
        update={"kafka_bootstrap_servers": kafka_bootstrap, "search_url": url})
    ensure_topics(settings)
    engine: SearchEngine = open_engine(url, timeout_s=30.0)
    now = utcnow()
    try:
        articles = demo_articles(now)
        engine.ensure_index(settings.articles_alias)
        outcome = engine.bulk_index(settings.articles_alias,
                                    [to_document(a, a.fetched_at + timedelta(seconds=5)) for a in articles])
        assert not outcome.rejected and not outcome.retryable, outcome.items[:3]
        engine.refresh(settings.articles_alias)

        outcomes = demo_outcomes(articles, now)
        ExtractionLog(settings, engine).record(outcomes)  # type: ignore[arg-type]  # the engine is a VendorClient
        engine.refresh_index(settings.extraction_log_index)  # type: ignore[attr-defined]

        alerts = demo_alerts(articles, now)
        publisher = Publisher(make_producer(settings, client_id="test-dashboards"))
        try:
            emitted = emit_alerts(engine, publisher, settings, alerts)  # type: ignore[arg-type]
        finally:
            publisher.close()
        assert emitted.created + emitted.same_story == len(alerts)
        engine.refresh_index(settings.alerts_index)  # type: ignore[attr-defined]
        yield DemoIndices(request.param, url, settings, Indices.from_settings(settings), now, articles, outcomes,
                          alerts)
    finally:
        engine.close()
        _drop(url, settings)


def test_the_demo_data_is_in_place(demo):
    http = _http()
    counts = {}
    for index in (demo.indices.articles, demo.indices.alerts, demo.indices.extraction_log):
        status, body = _call(http, "GET", f"{demo.url}/{index}/_count")
        assert status == 200, body
        counts[index] = body["count"]
    assert counts[demo.indices.articles] == len(demo.articles)
    assert counts[demo.indices.extraction_log] == len(demo.outcomes)
    assert 0 < counts[demo.indices.alerts] <= len(demo.alerts)


FIELD_RULES = {
    # what Kibana and Dashboards require of a field for each use, in field_caps terms
    "time": lambda caps: caps["type"] == "date",
    "terms": lambda caps: caps["aggregatable"],
    "sort": lambda caps: caps["aggregatable"],
    "text": lambda caps: caps["type"] == "text" and caps["searchable"],
    "filter": lambda caps: caps["searchable"],
    "column": lambda caps: True,
    "link": lambda caps: caps["type"] == "keyword",
}


@pytest.mark.parametrize("flavor", FLAVORS)
def test_every_field_the_objects_use_is_in_field_caps_with_a_usable_type(demo, flavor):
    saved = SavedObjects(saved_objects(flavor, demo.indices), flavor)
    uses = list(saved.field_uses())
    http = _http()
    caps: dict[str, dict[str, Any]] = {}
    for index in {u.index for u in uses}:
        status, body = _call(http, "GET", f"{demo.url}/{index}/_field_caps?fields=*")
        assert status == 200, body
        # one type per field: every index behind the alias has the same mapping
        caps[index] = {}
        for name, by_type in body["fields"].items():
            assert len(by_type) == 1, f"{index}: {name} has several types {list(by_type)}"
            caps[index][name] = next(iter(by_type.values()))
    problems = []
    for use in uses:
        found = caps[use.index].get(use.field)
        if found is None:
            problems.append(f"{use.where}: {use.field} is not a field of {use.index}")
        elif not FIELD_RULES[use.use](found):
            problems.append(f"{use.where}: {use.field} ({use.use}) is {found}")
    assert not problems, "\n".join(problems)
    assert {u.use for u in uses} == set(FIELD_RULES)


def _run(demo: DemoIndices, flavor: str) -> dict[str, tuple[Any, Any]]:
    """Title -> (request, response) for every dashboard panel and saved search,
    over the dashboard's own default time range."""
    saved = SavedObjects(saved_objects(flavor, demo.indices), flavor)
    dashboard = saved.by_key[("dashboard", OVERVIEW.id)]["attributes"]
    start, end = resolve_time(dashboard["timeFrom"], demo.now), resolve_time(dashboard["timeTo"], demo.now)
    shown = saved.panels(OVERVIEW.id) + [s for s in saved.of_type("search") if s not in saved.panels(OVERVIEW.id)]
    http = _http()
    results = {}
    for obj in shown:
        for request in saved.requests(obj, start, end):
            status, body = _call(http, "POST", f"{demo.url}/{request.index}/_search", request.body)
            assert status == 200, f"{request.title} on {demo.engine_name}: {body}"
            results[request.title] = (request, body)
    return results


def _buckets(body: dict[str, Any]) -> dict[str, int]:
    """Outer bucket key -> documents, for a split-by chart or top values."""
    [outer] = body["aggregations"].values()
    return {bucket["key"]: bucket["doc_count"] for bucket in outer["buckets"]}


@pytest.mark.parametrize("flavor", FLAVORS)
def test_every_panel_and_saved_search_returns_data_on_the_real_engine(demo, flavor):
    results = _run(demo, flavor)
    for title, (request, body) in results.items():
        assert body["hits"]["total"]["value"] > 0, f"{title}: no documents"
        if request.kind == "aggs":
            counts = leaf_counts(body["aggregations"])
            assert counts and sum(counts) > 0, f"{title}: no buckets"
        else:
            assert body["hits"]["hits"], f"{title}: no hits"

    sources = {a.source for a in demo.articles}
    by_source = _buckets(results["Articles over time by source"][1])
    assert set(by_source) == sources and sum(by_source.values()) == len(demo.articles)
    assert set(_buckets(results["Articles over time by language"][1])) == {"ar", "en", "ru", "az", "fa"}
    top = _buckets(results["Top sources"][1])
    assert list(top) == sorted(top, key=lambda k: -top[k]) and set(top) == sources

    dead = _buckets(results["Extraction dead letters over time"][1])
    expected_dead = [o.reason for o in demo.outcomes if o.classification != "article"]
    assert sum(dead.values()) == len(expected_dead) and set(dead) == set(expected_dead)

    rules = _buckets(results["Alerts over time by rule"][1])
    assert set(rules) == {p.alert.rule for p in demo.alerts}

    latest = [hit["_source"] for hit in results["Rasd: latest articles"][1]["hits"]["hits"]]
    assert len(latest) == min(len(demo.articles), 100)
    for doc in latest:
        assert doc["title"] and doc["source"] and doc["url"].startswith("https://")
    published = [datetime.fromisoformat(doc["published_at"]) for doc in latest if doc.get("published_at")]
    assert published == sorted(published, reverse=True), "newest publication first"

    central_bank = [hit["_source"] for hit in results["Rasd: Arabic full text «البنك المركزي»"][1]["hits"]["hits"]]
    assert any("البنك المركزي" in doc["body"] for doc in central_bank)
    assert all(doc["language"] == "ar" for doc in central_bank)
    karabakh = [hit["_source"] for hit in results["Rasd: Arabic full text «كاراباخ» / «قره باغ»"][1]["hits"]["hits"]]
    assert any("كاراباخ" in doc["title"] + doc["body"] for doc in karabakh)
    assert {doc["language"] for doc in karabakh} <= {"ar", "fa"}

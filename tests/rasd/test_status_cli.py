"""`rasd status` after a small pipeline run on the shared stack: what it
reads back from Kafka and the engine, and what it says when a server is away."""
from __future__ import annotations

import json

import pytest
from kafka import KafkaProducer
from typer.testing import CliRunner

from indexer.engines.detect import open_engine
from indexer.worker import run_indexer
from ingest.kafka_io import encode
from ingest.worker import run_ingest
from rasd.cli import app
from tests.indexer.conftest import _drop_alias
from tests.indexer.support import settings_env
from tests.observability_support import drop_ingest_stores
from tests.ingest.pages import article_html, fetched_page

runner = CliRunner()


def _produce_pages(settings, values) -> None:  # type: ignore[no-untyped-def]
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers)
    for value in values:
        producer.send(settings.topic_pages, value=value)
    producer.flush()
    producer.close()


@pytest.mark.services
def test_status_json_shows_lag_dead_letters_by_reason_documents_and_last_crawls(settings, opensearch_url, crawl_state):
    _produce_pages(settings, [
        encode(fetched_page(article_html(), url="https://news.example/a.html")),
        encode(fetched_page("<h1>Server error</h1>", url="https://news.example/500", status=500)),
        b"this is not a page",
    ])
    engine = open_engine(opensearch_url, timeout_s=30.0)
    try:
        assert run_ingest(settings, until_end=True).articles == 1
        assert run_indexer(settings, engine, until_end=True).indexed == 1
        engine.refresh(settings.articles_alias)
        # two pages arrive after the ingest worker stopped: its lag
        _produce_pages(settings, [encode(fetched_page(article_html(), url=f"https://news.example/late{n}.html"))
                                  for n in range(2)])

        result = runner.invoke(app, ["status", "--json", "--window", "0.5"], env=settings_env(settings))
    finally:
        engine.close()
        drop_ingest_stores(settings, opensearch_url)
        _drop_alias(opensearch_url, settings.articles_alias)

    assert result.exit_code == 0, result.output
    status = json.loads(result.stdout)
    groups = {g["group"]: g for g in status["consumer_groups"]}
    assert groups[settings.ingest_group_id]["lag"] == 2
    assert groups[settings.ingest_group_id]["stage"] == "ingest"
    assert groups[settings.indexer_group_id]["lag"] == 0 and groups[settings.indexer_group_id]["committed_yet"]
    assert groups[settings.notifier_group_id]["committed_yet"] is False
    reasons = {(r["stage"], r["reason"]): r["count"] for r in status["dead_letters"]["by_reason"]}
    assert reasons == {("ingest", "http_error"): 1, ("ingest", "invalid_message"): 1}
    (engine_row,) = status["engines"]
    assert (engine_row["documents"], engine_row["distribution"]) == (1, "opensearch")
    assert status["crawl"]["sources"] == [
        {"source": "alofoq", "urls": 2, "last_fetched_at": "2026-03-01T12:05:00.000Z"},
        {"source": "sada", "urls": 1, "last_fetched_at": None},
    ]
    text = runner.invoke(app, ["status", "--window", "0.5"], env=settings_env(settings)).stdout
    assert "last fetch 2026-03-01T12:05:00.000Z" in text and "http_error" in text


@pytest.fixture
def crawl_state(settings, opensearch_url):  # type: ignore[no-untyped-def]
    """The URL status index as crawlers leave it: two fetched URLs of one source, one not yet fetched of another."""
    from crawlers.frontier.store import StatusStore
    from ingest.engines.detect import open_client

    client = open_client(opensearch_url, timeout_s=30.0)
    StatusStore(client, settings.crawl_status_index).ensure()
    for n, (source, fetched) in enumerate([("alofoq", "2026-03-01T12:00:00Z"), ("alofoq", "2026-03-01T12:05:00Z"),
                                           ("sada", None)]):
        client.index_raw(settings.crawl_status_index, f"u{n}", {"source": source, "last_fetched_at": fetched},
                         refresh="true")
    yield
    client.delete_index(settings.crawl_status_index)
    client.close()


def test_status_names_each_unreachable_part_and_still_answers():
    env = {"RASD_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9", "RASD_SEARCH_URL": "http://127.0.0.1:9"}
    result = runner.invoke(app, ["status", "--window", "0.5"], env=env)
    assert result.exit_code == 0, result.output
    assert result.stdout.count("unreachable") == 4  # groups, dead letters, the engine, the crawl status index
    assert "documents per engine" in result.stdout and "last crawl per source" in result.stdout

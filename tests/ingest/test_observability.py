"""Metrics and health of a long-running process, served over real HTTP, and
the ingest worker's own metrics after a real run on the shared Kafka."""
from __future__ import annotations

import time

from kafka import KafkaProducer

from ingest.kafka_io import encode
from ingest.observability import observe
from ingest.settings import Settings
from ingest.worker import run_ingest
from tests.ingest.pages import article_html, fetched_page
from tests.observability_support import drop_ingest_stores, health, scrape, value


def _wait_for(condition, timeout_s: float):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not (result := condition()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)
    return result


def test_metrics_and_healthz_are_served_and_healthz_turns_503_when_the_loop_stops_turning():
    settings = Settings(metrics_port=0, liveness_stale_s=0.5)
    with observe(settings, "ingest") as observed:
        assert observed.port
        text_names = {name for name, _ in scrape(observed.port)}
        assert {"rasd_liveness", "rasd_loop_seconds_since_tick"} <= text_names
        status, body = health(observed.port)
        assert status == 200 and body["live"] is True and body["stage"] == "ingest"

        # nothing ticks any more: a loop stuck in a call
        status, body = _wait_for(lambda: (s := health(observed.port))[0] == 503 and s, 10)
        assert body["live"] is False and "has not turned" in body["reason"]
        assert value(scrape(observed.port), "rasd_liveness") == 0.0

        observed.liveness.tick()
        assert health(observed.port)[0] == 200
        assert value(scrape(observed.port), "rasd_liveness") == 1.0


def test_metrics_are_off_unless_a_port_is_set():
    with observe(Settings(metrics_port=None), "ingest") as observed:
        assert observed.port is None


def test_an_ingest_run_counts_pages_by_outcome_and_its_lag_drains_to_zero(settings):
    settings = settings.model_copy(update={"metrics_port": 0, "metrics_lag_interval_s": 0.2})
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers)
    for value_ in [
        encode(fetched_page(article_html(), url="https://news.example/a.html")),
        encode(fetched_page(article_html(), url="https://news.example/b.html")),
        encode(fetched_page("<h1>Server error</h1>", url="https://news.example/500", status=500)),
        b"this is not a page",
    ]:
        producer.send(settings.topic_pages, value=value_)
    producer.flush()
    producer.close()

    try:
        with observe(settings, "ingest") as observed:
            assert observed.port
            before = scrape(observed.port)
            stats = run_ingest(settings, until_end=True, liveness=observed.liveness)
            after = scrape(observed.port)
            assert health(observed.port)[0] == 200
    finally:
        drop_ingest_stores(settings, settings.search_url)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert stats.articles == 2
    assert delta("rasd_ingest_pages_total", outcome="article", reason="") == 2
    assert delta("rasd_ingest_pages_total", outcome="dead_letter", reason="http_error") == 1
    assert delta("rasd_ingest_pages_total", outcome="dead_letter", reason="invalid_message") == 1
    assert delta("rasd_ingest_articles_total", language="ar") == 2
    assert delta("rasd_dead_letters_total", stage="ingest", reason="http_error") == 1
    assert delta("rasd_ingest_batch_seconds_count") >= 1
    lags = {dict(labels)["partition"]: v for (name, labels), v in after.items()
            if name == "rasd_kafka_consumer_lag" and dict(labels)["group"] == settings.ingest_group_id}
    assert sorted(lags) == [str(p) for p in range(settings.topic_partitions)]
    assert set(lags.values()) == {0.0}
    # no URL ever becomes a label: unbounded series would sink Prometheus
    assert not any("news.example" in v for _, labels in after for _, v in labels)

"""The real local stack: three servers on the test ports (see tests/conftest.py)."""
from __future__ import annotations

import json
import time
import urllib.request
import uuid

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer

from deploy.stack import es_plugin, manager
from ingest.kafka_connection import kafka_client_kwargs
from ingest.settings import Settings


def get_json(url: str, method: str = "GET", body: object | None = None) -> tuple[dict, dict]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read()), dict(resp.headers)


def test_kafka_answers_with_one_unfenced_broker(kafka_bootstrap: str) -> None:
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap, client_id="test-stack")
    try:
        cluster = admin.describe_cluster()
    finally:
        admin.close()
    assert [(b["host"], b["port"], b["is_fenced"]) for b in cluster["brokers"]] == [
        ("127.0.0.1", int(kafka_bootstrap.rsplit(":", 1)[1]), False)
    ]


def test_opensearch_answers_with_the_pinned_version(opensearch_url: str) -> None:
    info, _ = get_json(opensearch_url)
    assert info["version"]["distribution"] == "opensearch"
    assert info["version"]["number"] == manager.OPENSEARCH_VERSION


def test_elasticsearch_answers_with_the_pinned_version(elasticsearch_url: str) -> None:
    # the integ-test distribution has no GET / (rest-root module): ask the nodes API
    nodes, headers = get_json(f"{elasticsearch_url}/_nodes/_local")
    assert headers.get("X-elastic-product", headers.get("X-Elastic-Product")) == "Elasticsearch"
    assert [n["version"] for n in nodes["nodes"].values()] == [manager.ELASTICSEARCH_VERSION]
    health, _ = get_json(f"{elasticsearch_url}/_cluster/health")
    assert health["status"] in ("green", "yellow")


def test_up_again_reuses_the_running_servers(stack_settings: Settings) -> None:
    before = manager.status(stack_settings)
    urls = manager.up(stack_settings)
    after = manager.status(stack_settings)
    assert urls == {name: st["url"] for name, st in before.items()}
    assert {n: st["pid"] for n, st in after.items()} == {n: st["pid"] for n, st in before.items()}
    assert all(st["pid"] for st in after.values())


def test_status_reports_each_server_running_and_healthy(stack_settings: Settings) -> None:
    st = manager.status(stack_settings)
    assert set(st) == {"kafka", "opensearch", "elasticsearch"}
    for name, s in st.items():
        assert s["running"] and s["healthy"], name
        assert s["rss_bytes"] > 50 * 1024 * 1024, name
    assert st["kafka"]["port"] == stack_settings.stack_kafka_port
    assert st["opensearch"]["port"] == stack_settings.stack_opensearch_port
    assert st["elasticsearch"]["port"] == stack_settings.stack_elasticsearch_port


def test_each_servers_cpu_time_grows_while_it_works_and_is_zero_when_not_running(
        stack_settings: Settings, opensearch_url: str) -> None:
    before = manager.service_cpu_seconds(stack_settings, "opensearch")
    assert before > 1.0  # a JVM that started and answered has spent seconds already
    give_up = time.monotonic() + 60
    while manager.service_cpu_seconds(stack_settings, "opensearch") < before + 0.05:
        assert time.monotonic() < give_up, "the engine answered for a minute without its CPU time growing"
        urllib.request.urlopen(f"{opensearch_url}/_nodes/stats", timeout=10).read()
    stopped = stack_settings.model_copy(update={"stack_dir": stack_settings.stack_dir / f"none-{uuid.uuid4().hex[:6]}"})
    assert manager.service_cpu_seconds(stopped, "opensearch") == 0.0


def test_kafka_round_trips_one_message(settings: Settings) -> None:
    payload = f"hello {uuid.uuid4()}".encode()
    producer = KafkaProducer(**kafka_client_kwargs(settings), acks="all")
    try:
        producer.send(settings.topic_pages, key=b"k", value=payload).get(timeout=30)
    finally:
        producer.close()
    consumer = KafkaConsumer(
        settings.topic_pages,
        **kafka_client_kwargs(settings),
        group_id=settings.ingest_group_id,
        auto_offset_reset="earliest",
        consumer_timeout_ms=20_000,
    )
    try:
        received = [next(consumer).value]
        # and nothing else: a second message would come in the same fetch
        received += [m.value for records in consumer.poll(timeout_ms=500).values() for m in records]
    finally:
        consumer.close()
    assert received == [payload]


@pytest.mark.parametrize("url_fixture", ["opensearch_url", "elasticsearch_url"])
def test_the_arabic_analyzer_normalizes_hamza_and_stems(request: pytest.FixtureRequest, url_fixture: str) -> None:
    # OpenSearch: its analysis-common module; Elasticsearch: the stack's rasd-analysis plugin
    url = request.getfixturevalue(url_fixture)
    body, _ = get_json(f"{url}/_analyze", "POST", {"analyzer": "arabic", "text": "أذربيجان"})
    # alef with hamza becomes bare alef; the light stemmer drops the -ان suffix
    assert [t["token"] for t in body["tokens"]] == ["اذربيج"]


def test_elasticsearch_runs_the_analysis_plugin_of_the_current_sources(elasticsearch_url: str) -> None:
    nodes, _ = get_json(f"{elasticsearch_url}/_nodes/plugins")
    plugins = [p for node in nodes["nodes"].values() for p in node["plugins"]]
    # a server started before the plugin sources changed runs the old build: `rasd stack down elasticsearch`
    assert [(p["name"], p["version"]) for p in plugins] == [(es_plugin.PLUGIN_NAME, es_plugin.source_digest())]


def test_opensearch_accepts_a_percolator_mapping(opensearch_url: str) -> None:
    index = f"t{uuid.uuid4().hex[:8]}-percolate"
    try:
        created, _ = get_json(f"{opensearch_url}/{index}", "PUT", {"mappings": {"properties": {"q": {"type": "percolator"}}}})
        assert created["acknowledged"] is True
    finally:
        get_json(f"{opensearch_url}/{index}", "DELETE")

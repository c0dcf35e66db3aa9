"""/readyz of a long-running process, served over real HTTP and asking the
real shared Kafka and OpenSearch (and closed ports for the ones that are
down)."""
from __future__ import annotations

from ingest.observability import observe
from tests.observability_support import free_port, health, readiness


def test_readyz_is_200_once_the_loop_started_and_kafka_and_the_engine_answer(settings):
    with observe(settings.model_copy(update={"metrics_port": 0}), "index") as observed:
        assert observed.port
        status, body = readiness(observed.port)
        assert status == 503 and body["checks"]["loop"] == "not started"
        assert body["reason"] == "the work loop has not started yet"
        assert body["checks"]["kafka"] == "ok" and body["checks"]["engine"] == "ok"

        observed.liveness.tick()
        status, body = readiness(observed.port)
        assert status == 200
        assert body == {"stage": "index", "ready": True, "checks": {"loop": "started", "kafka": "ok", "engine": "ok"}}


def test_readyz_is_503_with_the_reason_when_the_engine_url_points_at_a_closed_port(settings):
    closed = f"http://127.0.0.1:{free_port()}"
    with observe(settings.model_copy(update={"metrics_port": 0, "search_url": closed}), "ingest") as observed:
        assert observed.port
        observed.liveness.tick()
        status, body = readiness(observed.port)
        assert status == 503 and body["ready"] is False
        assert body["checks"] == {"loop": "started", "kafka": "ok", "engine": "unreachable"}
        assert body["reason"].startswith(f"search engine {closed}: no search engine reachable at {closed}")
        # liveness is about the loop: an engine outage does not restart the process
        assert health(observed.port)[0] == 200


def test_readyz_is_503_with_the_reason_when_kafka_does_not_answer(settings):
    closed = f"127.0.0.1:{free_port()}"
    with observe(settings.model_copy(update={"metrics_port": 0, "kafka_bootstrap_servers": closed}), "notify") as observed:
        assert observed.port
        observed.liveness.tick()
        status, body = readiness(observed.port)
        assert status == 503
        assert body["checks"] == {"loop": "started", "kafka": "unreachable", "engine": "ok"}
        assert body["reason"].startswith(f"kafka {closed}: ")


def test_a_process_without_an_engine_is_ready_whatever_the_engine_url(settings):
    closed = f"http://127.0.0.1:{free_port()}"
    with observe(settings.model_copy(update={"metrics_port": 0, "search_url": closed}), "crawl", engine=False) as observed:
        assert observed.port
        observed.liveness.tick()
        status, body = readiness(observed.port)
        assert status == 200 and body["checks"] == {"loop": "started", "kafka": "ok"}

"""/readyz of a long-running process, served over real HTTP and asking the
real shared Kafka and OpenSearch (and closed ports for the ones that are
down)."""
from __future__ import annotations

import pytest

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


def _closed(dependency: str) -> tuple[str, str, str]:
    """The setting that points ``dependency`` at a closed port, its value and
    how the reason starts."""
    port = free_port()
    if dependency == "engine":
        url = f"http://127.0.0.1:{port}"
        return "search_url", url, f"search engine {url}: no search engine reachable at {url}"
    return "kafka_bootstrap_servers", f"127.0.0.1:{port}", f"kafka 127.0.0.1:{port}: "


@pytest.mark.parametrize("down", ["engine", "kafka"])
def test_readyz_is_503_with_the_reason_when_the_engine_url_or_kafka_points_at_a_closed_port(settings, down):
    setting, value, reason = _closed(down)
    with observe(settings.model_copy(update={"metrics_port": 0, setting: value}), "ingest") as observed:
        assert observed.port
        observed.liveness.tick()
        status, body = readiness(observed.port)
        assert status == 503 and body["ready"] is False
        assert body["checks"] == {"loop": "started", "kafka": "ok", "engine": "ok", down: "unreachable"}
        assert body["reason"].startswith(reason)
        # liveness is about the loop: an outage does not restart the process
        assert health(observed.port)[0] == 200


def test_a_process_without_an_engine_is_ready_whatever_the_engine_url(settings):
    closed = f"http://127.0.0.1:{free_port()}"
    with observe(settings.model_copy(update={"metrics_port": 0, "search_url": closed}), "crawl", engine=False) as observed:
        assert observed.port
        observed.liveness.tick()
        status, body = readiness(observed.port)
        assert status == 200 and body["checks"] == {"loop": "started", "kafka": "ok"}

"""Shared fixtures. The real local stack (Kafka, OpenSearch, Elasticsearch)
starts only when a collected test asks for one of the service fixtures, once
per session, on dedicated test ports; pure tests never need Java."""
from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ingest.settings import Settings

if TYPE_CHECKING:
    from ingest.engines.client import VendorClient

REPO_ROOT = Path(__file__).resolve().parents[1]
TEST_STACK_DIR = REPO_ROOT / ".rasd-stack" / "test-stack"
TEST_PORTS = {
    "stack_kafka_port": 19092,
    "stack_kafka_controller_port": 19093,
    "stack_opensearch_port": 9251,
    "stack_elasticsearch_port": 19200,
    "stack_elasticsearch_transport_port": 19300,
}


# the tests' own web sites (127.0.0.1, and 127.0.0.N for the universe's
# sites); the crawler refuses loopback unless allowed
TEST_SITE_NETWORK = "127.0.0.0/8"


def _drop_indices(url: str, pattern: str) -> None:
    """Delete the indices matching ``pattern``, by name (Elasticsearch
    refuses wildcard deletes); an engine that is not running is skipped."""
    import json

    import urllib3

    http = urllib3.PoolManager(timeout=30.0, retries=False)
    try:
        found = http.request("GET", f"{url}/_cat/indices/{pattern}?format=json&h=index&expand_wildcards=all")
        if found.status != 200:
            return
        names = [row["index"] for row in json.loads(found.data)]
        for start in range(0, len(names), 50):
            http.request("DELETE", f"{url}/{','.join(names[start:start + 50])}")
    except urllib3.exceptions.HTTPError:
        return
    finally:
        http.clear()


def stack_base_settings() -> Settings:
    """Settings pointing at the test stack, without starting anything."""
    return Settings(
        stack_dir=TEST_STACK_DIR,
        kafka_bootstrap_servers=f"127.0.0.1:{TEST_PORTS['stack_kafka_port']}",
        search_url=f"http://127.0.0.1:{TEST_PORTS['stack_opensearch_port']}",
        crawl_allowed_networks=[TEST_SITE_NETWORK],
        **TEST_PORTS,
    )


SERVICE_FIXTURES = {"stack_settings", "kafka_bootstrap", "opensearch_url", "elasticsearch_url", "settings"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Every test that reaches the real stack is marked, so `-m "not services"`
    # runs exactly the tests that need no Java.
    for item in items:
        if SERVICE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.services)


@pytest.fixture(scope="session")
def stack_settings() -> Iterator[Settings]:
    """The test stack, started (or reused when already running) for this session.

    Servers this session started are stopped at its end; servers that were
    already running (another session, or `rasd stack up` with these ports)
    are left alone."""
    from deploy.stack import manager

    settings = stack_base_settings()
    already = {name for name, st in manager.status(settings).items() if st["running"]}
    manager.up(settings)
    yield settings
    ours = [name for name in manager.ALL_SERVICES if name not in already]
    if ours:
        manager.down(settings, ours)


@pytest.fixture(scope="session")
def kafka_bootstrap(stack_settings: Settings) -> str:
    return f"127.0.0.1:{stack_settings.stack_kafka_port}"


@pytest.fixture(scope="session")
def opensearch_url(stack_settings: Settings) -> str:
    return f"http://127.0.0.1:{stack_settings.stack_opensearch_port}"


@pytest.fixture(scope="session")
def elasticsearch_url(stack_settings: Settings) -> str:
    return f"http://127.0.0.1:{stack_settings.stack_elasticsearch_port}"


@pytest.fixture(scope="session")
def _kafka_admin(kafka_bootstrap: str) -> Iterator[object]:
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap, client_id="rasd-tests")
    yield admin
    admin.close()


@pytest.fixture
def settings(stack_settings: Settings, kafka_bootstrap: str, opensearch_url: str, _kafka_admin: object) -> Iterator[Settings]:
    """Per-test Settings on the shared stack: private topics, consumer groups
    and index alias so tests never see each other's data. Topics exist on
    return and are deleted after the test: a session's thousands of them
    would otherwise pile up in the one broker, every partition holding open
    files, until it runs out of them."""
    from kafka.errors import KafkaError

    from ingest.kafka_io import all_topics, ensure_topics

    tag = f"t{uuid.uuid4().hex[:8]}"
    s = stack_settings.namespaced(tag).model_copy(
        update={"kafka_bootstrap_servers": kafka_bootstrap, "search_url": opensearch_url}
    )
    ensure_topics(s)
    yield s
    try:
        _kafka_admin.delete_topics(all_topics(s))  # type: ignore[attr-defined]
    except KafkaError:  # a test that deleted a topic itself, or a broker a test stopped
        pass
    # The stores every ingest run opens (boilerplate, clusters, extraction
    # log), the crawl status, rules, alerts and article indices: a session
    # leaving them behind reaches the engine's limit of 1,000 open shards.
    for url in (opensearch_url, f"http://127.0.0.1:{TEST_PORTS['stack_elasticsearch_port']}"):
        _drop_indices(url, f"{tag}-*")


@pytest.fixture(autouse=True)
def _reset_structlog() -> Iterator[None]:
    """Commands under test configure structlog globally (level filter,
    renderer); undo that so each test starts from structlog's defaults."""
    import structlog

    yield
    structlog.reset_defaults()


@pytest.fixture
def alerts_client(settings: Settings, opensearch_url: str) -> Iterator[VendorClient]:
    """A client on the test OpenSearch; the test's alert indices go at the end."""
    from indexer.alerts.cooldown import cooldowns_index
    from ingest.engines.detect import open_client

    client = open_client(opensearch_url, timeout_s=30.0)
    yield client
    for index in (settings.alerts_index, cooldowns_index(settings)):
        if client.index_exists(index):
            client.delete_index(index)
    client.close()


@pytest.fixture
def log_client(settings: Settings, opensearch_url: str) -> Iterator[VendorClient]:
    """A client on the test OpenSearch; the test's extraction log index goes at the end."""
    from ingest.engines.detect import open_client

    client = open_client(opensearch_url, timeout_s=30.0)
    yield client
    if client.index_exists(settings.extraction_log_index):
        client.delete_index(settings.extraction_log_index)
    client.close()


def _free_port() -> int:
    # a port free now (the broker binds it a moment later)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def private_kafka(stack_settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    """Stack settings of a private Kafka (own stack_dir and ports; the
    downloads are the shared stack's, linked, so nothing is fetched), for
    tests that stop the broker: the shared one is never stopped."""
    from deploy.stack import manager

    stack_dir = tmp_path / "stack"
    stack_dir.mkdir()
    (stack_dir / "cache").symlink_to(manager.cache_dir(stack_settings), target_is_directory=True)
    private = stack_settings.model_copy(update={
        "stack_dir": stack_dir, "stack_kafka_port": _free_port(), "stack_kafka_controller_port": _free_port(),
    })
    manager.up(private, ["kafka"])
    try:
        yield private
    finally:
        manager.down(private, ["kafka"])

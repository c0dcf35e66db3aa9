"""Server configuration rendered by the local stack (no servers started)."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from deploy.stack.elasticsearch import es_settings
from deploy.stack.kafka import new_cluster_id, render_server_properties
from deploy.stack.opensearch import render_opensearch_yml
from ingest.settings import Settings


def parse_properties(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))


def test_kafka_server_properties_make_one_loopback_kraft_node(tmp_path: Path) -> None:
    s = Settings(stack_kafka_port=29092, stack_kafka_controller_port=29093)
    props = parse_properties(render_server_properties(s, tmp_path / "data"))
    assert props["process.roles"] == "broker,controller"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:29093"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:29092,CONTROLLER://127.0.0.1:29093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:29092"
    assert props["log.dirs"] == str(tmp_path / "data")
    assert props["group.initial.rebalance.delay.ms"] == "0"


def test_kafka_internal_topics_fit_a_single_broker(tmp_path: Path) -> None:
    props = parse_properties(render_server_properties(Settings(), tmp_path))
    for key in (
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "transaction.state.log.min.isr",
        "share.coordinator.state.topic.replication.factor",
        "share.coordinator.state.topic.min.isr",
    ):
        assert props[key] == "1", key


def test_kafka_cluster_ids_are_22_char_urlsafe_and_unique() -> None:
    ids = {new_cluster_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{22}", i) for i in ids)


def test_kafka_cluster_ids_never_start_with_a_dash() -> None:
    # the storage tool's command line would take "-..." for an option (1 in 64)
    assert not [i for i in (new_cluster_id() for _ in range(3000)) if i.startswith("-")]


def test_opensearch_yml_is_single_node_on_loopback_without_disk_watermarks() -> None:
    conf = yaml.safe_load(render_opensearch_yml())
    assert conf["discovery.type"] == "single-node"
    assert conf["network.host"] == "127.0.0.1"
    assert conf["cluster.routing.allocation.disk.threshold_enabled"] is False


def test_elasticsearch_settings_use_the_configured_ports_and_no_security(tmp_path: Path) -> None:
    s = Settings(stack_elasticsearch_port=29200, stack_elasticsearch_transport_port=29300)
    es = es_settings(s, tmp_path / "d", tmp_path / "l")
    assert es["http.port"] == "29200" and es["transport.port"] == "29300"
    assert es["network.host"] == "127.0.0.1"
    assert es["discovery.type"] == "single-node"
    assert es["xpack.security.enabled"] == "false"
    assert es["path.data"] == str(tmp_path / "d")


def test_elasticsearch_files_stay_in_the_state_folder_when_not_root(tmp_path, monkeypatch):
    from deploy.stack import elasticsearch

    monkeypatch.setattr(elasticsearch.os, "geteuid", lambda: 1000)
    assert elasticsearch.runtime_root(tmp_path / "state") == tmp_path / "state"


def test_elasticsearch_files_move_to_a_stable_temp_folder_when_root(tmp_path, monkeypatch):
    # CI may clone into a 0700 folder that the unprivileged user cannot enter
    import tempfile

    from deploy.stack import elasticsearch

    monkeypatch.setattr(elasticsearch.os, "geteuid", lambda: 0)
    one = elasticsearch.runtime_root(tmp_path / "a" / "state")
    assert one.parent == Path(tempfile.gettempdir())
    assert one == elasticsearch.runtime_root(tmp_path / "a" / "state")
    assert one != elasticsearch.runtime_root(tmp_path / "b" / "state")

"""docker-compose.yml cannot run here (no Docker engine), so these tests keep
it valid for a real compose parser and in step with the code."""
import re
import shutil
import subprocess
from pathlib import Path

import typer.main
import yaml

from ingest.settings import Settings
from rasd.cli import app

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"


def _resolved() -> dict:
    compose = shutil.which("docker-compose")
    assert compose, "docker-compose (Debian package) is installed by the project's setup script"
    out = subprocess.run([compose, "-f", str(COMPOSE), "config"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    return yaml.safe_load(out.stdout)


def test_compose_file_is_valid_for_a_real_compose_parser():
    config = _resolved()
    assert {"kafka", "elasticsearch", "kibana", "crawler", "ingest", "indexer"} <= set(config["services"])


def test_every_long_running_service_has_a_health_check():
    services = _resolved()["services"]
    for name in ("kafka", "elasticsearch", "kibana", "crawler", "ingest", "indexer", "demo-site"):
        assert "healthcheck" in services[name], name


def test_rasd_services_are_built_from_the_one_dockerfile():
    services = _resolved()["services"]
    for name in ("crawler", "ingest", "indexer", "demo-site"):
        assert services[name]["build"]["context"] == str(ROOT), name
    assert (ROOT / "Dockerfile").is_file()


def test_every_rasd_variable_in_compose_is_a_setting_of_the_code():
    names = set(re.findall(r"\bRASD_[A-Z0-9_]+", COMPOSE.read_text()))
    fields = {f"RASD_{name.upper()}" for name in Settings.model_fields}
    assert names, "compose configures the services through RASD_* settings"
    assert names <= fields, f"unknown settings in compose: {sorted(names - fields)}"


def test_every_command_compose_runs_is_a_rasd_subcommand():
    click_app = typer.main.get_command(app)
    services = _resolved()["services"]
    for name in ("crawler", "ingest", "indexer", "demo-site"):
        assert services[name]["command"][0] in click_app.commands, name


LONG_RUNNING = ("crawler", "ingest", "indexer", "notifier")


def test_long_running_services_serve_metrics_and_their_health_checks_ask_their_liveness():
    from ingest.settings import Settings

    services = _resolved()["services"]
    for name in LONG_RUNNING:
        service = services[name]
        env = Settings(**{k[len("RASD_"):].lower(): v for k, v in service["environment"].items()
                          if k.startswith("RASD_") and k != "RASD_SOURCES_FILE"})
        assert env.metrics_port and env.metrics_host == "0.0.0.0", name
        assert str(env.metrics_port) in [str(p) for p in service.get("expose", [])], name
        test = service["healthcheck"]["test"]
        # the process's own /healthz on its metrics port, not just "Kafka answers"
        assert test[0] == "CMD" and f"http://127.0.0.1:{env.metrics_port}/healthz" in " ".join(test), name
        assert "start_period" in service["healthcheck"], name


def test_compose_uses_the_same_server_versions_as_the_local_stack():
    from deploy.stack import versions

    text = COMPOSE.read_text()
    assert f"apache/kafka:{versions.KAFKA_VERSION}" in text
    assert f"elasticsearch:{versions.ELASTICSEARCH_VERSION}" in text
    assert f"kibana:{versions.ELASTICSEARCH_VERSION}" in text


def test_the_crawler_runs_continuously_and_can_be_scaled_out():
    crawler = _resolved()["services"]["crawler"]
    assert crawler["command"] == ["crawl"]  # continuous: no --once
    assert crawler["restart"] == "unless-stopped"
    # --scale crawler=3 needs replicas without a fixed name or host port
    assert "container_name" not in crawler and "ports" not in crawler
    # its state lives in the search engine, which must be up first
    assert "elasticsearch" in crawler["depends_on"]
    assert crawler["environment"]["RASD_SEARCH_URL"].startswith("http://elasticsearch:")
    # a clean stop (spider closed, Kafka flushed, hosts handed over) needs time
    assert crawler["stop_grace_period"] in ("1m30s", "90s")


def test_alert_rules_are_synced_by_a_one_shot_service_and_delivered_by_a_notifier():
    from indexer.alerts.rules_file import load_rules

    click_app = typer.main.get_command(app)
    services = _resolved()["services"]
    rules, notifier = services["rules"], services["notifier"]
    assert rules["command"] == ["rules", "apply"] and rules["restart"] == "on-failure"
    assert "rules" in click_app.commands and "notify" in click_app.commands
    assert notifier["command"] == ["notify"] and notifier["restart"] == "unless-stopped"
    assert "/healthz" in " ".join(notifier["healthcheck"]["test"])
    # the mounted rules file is one `rasd rules apply` accepts
    # this compose version prints short volume syntax: host:container:mode
    target = rules["environment"]["RASD_RULES_FILE"]
    (source,) = [v.split(":")[0] for v in rules["volumes"] if v.split(":")[1] == target]
    assert load_rules(ROOT / source).rule("karabakh") is not None
    # the webhook secret comes from the user's .env, never from this file
    assert "RASD_ALERT_WEBHOOK_SECRET: ${RASD_ALERT_WEBHOOK_SECRET" in COMPOSE.read_text()

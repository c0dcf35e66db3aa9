"""docker-compose.yml cannot run here (no Docker engine), so these tests keep
it valid for a real compose parser and in step with the code."""
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import typer.main
import yaml

from ingest.settings import Settings
from rasd.cli import app

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"


# what a user's .env gives; the file itself holds no password
PASSWORDS = {"ELASTIC_PASSWORD": "elastic-test-password", "KIBANA_PASSWORD": "kibana-test-password",
             "ELASTIC_RASD_PASSWORD": "rasd-test-password"}
RASD_ROLE = ROOT / "deploy" / "compose" / "elasticsearch-rasd-role.json"


def _config(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    compose = shutil.which("docker-compose")
    assert compose, "docker-compose (Debian package) is installed by the project's setup script"
    # the committed example instead of a developer's own .env (its values
    # are empty, so the passwords come from ``env`` or compose refuses)
    clean = {k: v for k, v in os.environ.items() if k not in PASSWORDS} | env
    return subprocess.run([compose, "-f", str(COMPOSE), "--env-file", str(ROOT / ".env.example"), "config"],
                          capture_output=True, text=True, cwd=ROOT, timeout=60, env=clean)


def _resolved() -> dict:
    out = _config(PASSWORDS)
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
        # read as the container would: from its environment (lists as JSON)
        with pytest.MonkeyPatch.context() as env_patch:
            for key, val in service["environment"].items():
                if key.startswith("RASD_") and key != "RASD_SOURCES_FILE":
                    env_patch.setenv(key, str(val))
            env = Settings(_env_file=None)
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


def test_the_crawler_may_fetch_from_the_demo_sites_network_and_no_other_private_one():
    config = _resolved()
    crawler, demo = config["services"]["crawler"], config["services"]["demo-site"]
    (subnet,) = [c["subnet"] for c in config["networks"]["demo-web"]["ipam"]["config"]]
    assert Settings(crawl_allowed_networks=json.loads(crawler["environment"]["RASD_CRAWL_ALLOWED_NETWORKS"])).crawl_allowed_networks == [subnet]
    # Kafka and Elasticsearch are on the default network only: out of the crawler's reach
    assert set(demo["networks"]) == {"demo-web"}
    assert set(crawler["networks"]) == {"default", "demo-web"}


SEARCH_CLIENTS = ("crawler", "ingest", "indexer", "rules", "notifier", "kibana-import")


def test_elasticsearch_runs_with_security_on_and_its_password_comes_from_the_environment():
    services = _resolved()["services"]
    es = services["elasticsearch"]
    assert es["environment"]["xpack.security.enabled"] == "true"
    assert es["environment"]["ELASTIC_PASSWORD"] == PASSWORDS["ELASTIC_PASSWORD"]
    # the health check logs in (compose's $$ leaves $ to the container's shell)
    assert '-u "elastic:$${ELASTIC_PASSWORD}"' in " ".join(es["healthcheck"]["test"])
    # no password is written in the file: compose refuses to start without one
    missing = _config({"KIBANA_PASSWORD": "x"})
    assert missing.returncode != 0 and "set ELASTIC_PASSWORD" in missing.stderr
    assert not set(PASSWORDS.values()) & set(re.findall(r"[\w-]+", COMPOSE.read_text()))


def test_every_service_that_talks_to_elasticsearch_logs_in_as_the_rasd_user_not_the_superuser():
    services = _resolved()["services"]
    for name in SEARCH_CLIENTS:
        env = services[name]["environment"]
        assert env["RASD_SEARCH_URL"] == "http://elasticsearch:9200", name
        assert (env["RASD_SEARCH_USERNAME"], env["RASD_SEARCH_PASSWORD"]) == ("rasd", PASSWORDS["ELASTIC_RASD_PASSWORD"]), name
        # the user exists only once es-setup has run
        assert "es-setup" in _waits_for(services, name), name
    # only Kibana's saved-objects import logs in to Kibana as elastic
    assert services["kibana-import"]["environment"]["RASD_KIBANA_USERNAME"] == "elastic"
    assert services["kibana-import"]["environment"]["RASD_KIBANA_PASSWORD"] == PASSWORDS["ELASTIC_PASSWORD"]
    # the superuser's password reaches no other service
    holders = {(name, key) for name, service in services.items()
               for key, value in (service.get("environment") or {}).items() if value == PASSWORDS["ELASTIC_PASSWORD"]}
    assert holders == {("elasticsearch", "ELASTIC_PASSWORD"), ("es-setup", "ELASTIC_PASSWORD"),
                       ("kibana-import", "RASD_KIBANA_PASSWORD")}


def _waits_for(services: dict, name: str) -> set[str]:
    """The services ``name`` starts after, directly or through another."""
    found: set[str] = set()
    todo = [name]
    while todo:
        for dep in services[todo.pop()].get("depends_on") or {}:
            if dep not in found:
                found.add(dep)
                todo.append(dep)
    return found


def test_es_setup_creates_the_rasd_role_from_the_role_file_and_the_rasd_user_with_it():
    setup = _resolved()["services"]["es-setup"]
    script = " ".join(setup["command"])
    # the role file is mounted where the script reads it
    (mount,) = [v for v in setup["volumes"] if v.split(":")[0] == str(RASD_ROLE)]
    in_container = mount.split(":")[1]
    assert f"-X PUT http://elasticsearch:9200/_security/role/rasd -d @{in_container}" in script
    assert "-X PUT http://elasticsearch:9200/_security/user/rasd" in script
    assert '\\"roles\\":[\\"rasd\\"]' in script and "$${ELASTIC_RASD_PASSWORD}" in script
    # a failed step fails the service, so the Rasd services do not start
    assert setup["command"][:2] == ["bash", "-c"] and setup["command"][2].startswith("set -e;")


def test_the_rasd_role_is_limited_to_the_indices_and_aliases_the_services_are_given():
    import fnmatch

    role = json.loads(RASD_ROLE.read_text())
    assert set(role["cluster"]) == {"monitor", "manage_index_templates", "manage_ilm"}
    (indices,) = role["indices"]
    assert set(indices["privileges"]) == {"create_index", "manage", "write", "read", "view_index_metadata"}
    assert indices["names"] == ["rasd-*"]
    services = _resolved()["services"]
    names = {
        (name, key, value)
        for name in SEARCH_CLIENTS
        for key, value in services[name]["environment"].items()
        if key.endswith(("_INDEX", "_ALIAS"))
    }
    defaults = {("default", field, getattr(Settings(_env_file=None), field))
                for field in Settings.model_fields if field.endswith(("_index", "_alias"))}
    assert len(names) >= 6 and len(defaults) >= 6
    for where, key, value in names | defaults:
        assert any(fnmatch.fnmatchcase(value, pattern) for pattern in indices["names"]), (where, key, value)


def test_kibana_connects_as_kibana_system_once_a_setup_service_gave_it_its_password():
    services = _resolved()["services"]
    kibana, setup = services["kibana"], services["es-setup"]
    assert kibana["environment"]["ELASTICSEARCH_USERNAME"] == "kibana_system"
    assert kibana["environment"]["ELASTICSEARCH_PASSWORD"] == PASSWORDS["KIBANA_PASSWORD"]
    assert kibana["depends_on"]["es-setup"]["condition"] == "service_completed_successfully"
    assert setup["depends_on"]["elasticsearch"]["condition"] == "service_healthy"
    script = " ".join(setup["command"])
    assert "/_security/user/kibana_system/_password" in script and "$${KIBANA_PASSWORD}" in script
    assert setup["environment"] == PASSWORDS


def test_the_env_example_names_every_variable_compose_requires_without_a_value():
    required = set(re.findall(r"\$\{([A-Z_]+):\?", COMPOSE.read_text()))
    assert required == set(PASSWORDS)
    example = dict(
        line.split("=", 1) for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert required <= set(example)
    assert all(value == "" for value in example.values())

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
             "ELASTIC_RASD_PASSWORD": "rasd-test-password", "ELASTIC_DASHBOARDS_PASSWORD": "dashboards-test-password"}
RASD_ROLE = ROOT / "deploy" / "compose" / "elasticsearch-rasd-role.json"
DASHBOARDS_ROLE = ROOT / "deploy" / "compose" / "elasticsearch-dashboards-role.json"
CERTS_SCRIPT = ROOT / "deploy" / "compose" / "elasticsearch-certs.sh"
CERTS_INSTANCES = ROOT / "deploy" / "compose" / "elasticsearch-certs.yml"
# what the certs service leaves in the certs volume (elasticsearch-certs.sh)
CA_IN_VOLUME = "ca/ca.crt"


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


def _settings_of(service: dict) -> Settings:
    """The settings a service's container reads from its environment (lists
    as JSON); its sources file is not on this machine, so not read."""
    with pytest.MonkeyPatch.context() as env_patch:
        for key, val in service["environment"].items():
            if key.startswith("RASD_") and key != "RASD_SOURCES_FILE":
                env_patch.setenv(key, str(val))
        return Settings(_env_file=None)


def test_long_running_services_serve_metrics_and_their_health_checks_ask_their_liveness():
    services = _resolved()["services"]
    for name in LONG_RUNNING:
        service = services[name]
        env = _settings_of(service)
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
    assert crawler["environment"]["RASD_SEARCH_URL"].startswith("https://elasticsearch:")
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
        assert env["RASD_SEARCH_URL"] == "https://elasticsearch:9200", name
        assert (env["RASD_SEARCH_USERNAME"], env["RASD_SEARCH_PASSWORD"]) == ("rasd", PASSWORDS["ELASTIC_RASD_PASSWORD"]), name
        # the user exists only once es-setup has run
        assert "es-setup" in _waits_for(services, name), name
    # the superuser's password reaches Elasticsearch and es-setup alone
    holders = {(name, key) for name, service in services.items()
               for key, value in (service.get("environment") or {}).items() if value == PASSWORDS["ELASTIC_PASSWORD"]}
    assert holders == {("elasticsearch", "ELASTIC_PASSWORD"), ("es-setup", "ELASTIC_PASSWORD")}


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
    assert f"-X PUT https://elasticsearch:9200/_security/role/rasd -d @{in_container}" in script
    assert re.search(r"-X PUT https://elasticsearch:9200/_security/user/rasd\s", script)
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


def _in_certs_volume(service: dict, path: str) -> str | None:
    """Where ``path`` of the service's container lies in the certs volume,
    mounted there read-only; None when it does not."""
    for mount in service.get("volumes") or []:
        source, target, *mode = mount.split(":")
        if source == "certs" and mode == ["ro"] and path.startswith(target.rstrip("/") + "/"):
            return path[len(target.rstrip("/")) + 1:]
    return None


def test_a_one_shot_certs_service_makes_the_ca_and_elasticsearchs_certificate_before_any_service_needs_them():
    config = _resolved()
    services = config["services"]
    certs = services["certs"]
    assert "certs" in config["volumes"]
    bash, script, certs_dir, instances = certs["command"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in certs["volumes"]}
    assert bash == "bash" and mounts[script] == str(CERTS_SCRIPT) and mounts[instances] == str(CERTS_INSTANCES)
    assert mounts[certs_dir] == "certs"
    # as root, to own the volume and set who may read the keys; it exits
    assert str(certs["user"]) == "0" and certs["restart"] == "no"
    assert certs["image"] == services["elasticsearch"]["image"]  # its elasticsearch-certutil
    # the names clients reach Elasticsearch by: the service, and loopback from the host
    (instance,) = yaml.safe_load(CERTS_INSTANCES.read_text())["instances"]
    assert {"elasticsearch", "localhost"} <= set(instance["dns"]) and "127.0.0.1" in instance["ip"]
    users = [name for name, service in services.items()
             if name != "certs" and any(v.startswith("certs:") for v in service.get("volumes") or [])]
    assert {"elasticsearch", "es-setup", "kibana", *SEARCH_CLIENTS} <= set(users)
    for name in users:
        assert "certs" in _waits_for(services, name), name
    for name in ("elasticsearch", "es-setup"):
        assert services[name]["depends_on"]["certs"]["condition"] == "service_completed_successfully", name


def test_elasticsearch_serves_https_with_the_certificate_of_the_certs_volume():
    es = _resolved()["services"]["elasticsearch"]
    env = es["environment"]
    assert env["xpack.security.http.ssl.enabled"] == "true"
    # the paths are relative to its config folder
    files = {key: _in_certs_volume(es, "/usr/share/elasticsearch/config/" + env[f"xpack.security.http.ssl.{key}"])
             for key in ("key", "certificate", "certificate_authorities")}
    assert files == {"key": "elasticsearch/elasticsearch.key", "certificate": "elasticsearch/elasticsearch.crt",
                     "certificate_authorities": CA_IN_VOLUME}
    check = " ".join(es["healthcheck"]["test"])
    (ca,) = re.findall(r"--cacert (\S+)", check)
    assert _in_certs_volume(es, ca) == CA_IN_VOLUME
    assert "'https://localhost:9200/_cluster/health" in check and "http://" not in check


def test_every_client_of_elasticsearch_speaks_https_and_verifies_it_with_the_compose_ca():
    from ingest.engines.connection import EngineConnection, client_kwargs

    out = _config(PASSWORDS)
    assert out.returncode == 0, out.stderr
    assert not re.search(r"http://(elasticsearch|localhost):9200", out.stdout)
    services = yaml.safe_load(out.stdout)["services"]
    for name in SEARCH_CLIENTS:
        service = services[name]
        settings = _settings_of(service)
        assert settings.search_url.startswith("https://elasticsearch:") and settings.search_verify_certs, name
        assert _in_certs_volume(service, str(settings.search_ca_certs)) == CA_IN_VOLUME, name
        # what the engine clients are given
        tls = client_kwargs(EngineConnection.from_settings(settings), "elasticsearch")
        assert (tls["verify_certs"], tls["ca_certs"]) == (True, str(settings.search_ca_certs)), name
    kibana = services["kibana"]["environment"]
    assert [h.split(":")[0] for h in json.loads(kibana["ELASTICSEARCH_HOSTS"])] == ["https"]
    assert _in_certs_volume(services["kibana"], kibana["ELASTICSEARCH_SSL_CERTIFICATEAUTHORITIES"]) == CA_IN_VOLUME
    assert kibana.get("ELASTICSEARCH_SSL_VERIFICATIONMODE", "full") == "full"
    setup = services["es-setup"]
    script = setup["command"][2]
    # every call goes through its one curl, which verifies with the CA
    assert script.count("curl ") == 1 and not re.search(r"\s(-k|--insecure)\s", script)
    (ca,) = re.findall(r"curl [^;]*--cacert (\S+)", script)
    assert _in_certs_volume(setup, ca) == CA_IN_VOLUME
    urls = re.findall(r"\bhttps?://\S+", script)
    assert len(urls) == 5 and all(url.startswith("https://elasticsearch:9200/") for url in urls)


def test_kibana_import_logs_in_as_the_dashboards_user_es_setup_creates_not_as_elastic():
    services = _resolved()["services"]
    env = services["kibana-import"]["environment"]
    assert env["RASD_KIBANA_USERNAME"] == "rasd-dashboards"
    assert env["RASD_KIBANA_PASSWORD"] == PASSWORDS["ELASTIC_DASHBOARDS_PASSWORD"]
    assert PASSWORDS["ELASTIC_PASSWORD"] not in env.values()
    raw = yaml.safe_load(COMPOSE.read_text())["services"]["kibana-import"]
    assert not re.search(r"\$\{ELASTIC_PASSWORD\b", json.dumps(raw))
    setup = services["es-setup"]
    script = " ".join(setup["command"])
    (mount,) = [v for v in setup["volumes"] if v.split(":")[0] == str(DASHBOARDS_ROLE)]
    assert f"-X PUT https://elasticsearch:9200/_security/role/rasd-dashboards -d @{mount.split(':')[1]}" in script
    assert re.search(r"-X PUT https://elasticsearch:9200/_security/user/rasd-dashboards\s", script)
    assert '\\"roles\\":[\\"rasd-dashboards\\"]' in script and "$${ELASTIC_DASHBOARDS_PASSWORD}" in script
    assert "es-setup" in _waits_for(services, "kibana-import")


# The Kibana 9 feature whose "all" privilege writes each saved-object type
# (Kibana's x-pack/platform/plugins/shared/features/server/oss_features.ts).
KIBANA_FEATURE_OF_TYPE = {"index-pattern": "indexPatterns", "search": "discover_v2", "visualization": "visualize_v2",
                          "lens": "visualize_v2", "dashboard": "dashboard_v2"}


def test_the_dashboards_role_may_write_the_imported_types_in_the_default_space_and_nothing_else():
    from rasd.dashboards import KIBANA, saved_objects

    role = json.loads(DASHBOARDS_ROLE.read_text())
    assert role["cluster"] == [] and role["indices"] == [] and "run_as" not in role
    (kibana,) = role["applications"]
    assert kibana["application"] == "kibana-.kibana" and kibana["resources"] == ["space:default"]
    types = {obj["type"] for obj in saved_objects(KIBANA)}
    assert types <= set(KIBANA_FEATURE_OF_TYPE), f"which Kibana feature writes {types - set(KIBANA_FEATURE_OF_TYPE)}?"
    # no base privilege, no savedObjectsManagement (every type), no feature the import does not need
    assert set(kibana["privileges"]) == {f"feature_{KIBANA_FEATURE_OF_TYPE[t]}.all" for t in types}

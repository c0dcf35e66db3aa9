"""The `rasd` command's stack and health subcommands against the test stack."""
import json
import socket

from typer.testing import CliRunner

from rasd.cli import app

runner = CliRunner()


def _env(settings) -> dict[str, str]:
    return {
        "RASD_STACK_DIR": str(settings.stack_dir),
        "RASD_STACK_KAFKA_PORT": str(settings.stack_kafka_port),
        "RASD_STACK_KAFKA_CONTROLLER_PORT": str(settings.stack_kafka_controller_port),
        "RASD_STACK_OPENSEARCH_PORT": str(settings.stack_opensearch_port),
        "RASD_STACK_ELASTICSEARCH_PORT": str(settings.stack_elasticsearch_port),
        "RASD_STACK_ELASTICSEARCH_TRANSPORT_PORT": str(settings.stack_elasticsearch_transport_port),
        "RASD_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "RASD_SEARCH_URL": settings.search_url,
    }


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_stack_status_reports_every_running_server_healthy(stack_settings):
    result = runner.invoke(app, ["stack", "status"], env=_env(stack_settings))
    assert result.exit_code == 0, result.output
    status = json.loads(result.stdout)
    assert set(status) == {"kafka", "opensearch", "elasticsearch"}
    assert all(s["running"] and s["healthy"] for s in status.values())


def test_stack_up_on_a_running_stack_reuses_it(stack_settings):
    before = json.loads(runner.invoke(app, ["stack", "status"], env=_env(stack_settings)).stdout)
    result = runner.invoke(app, ["stack", "up", "--service", "kafka"], env=_env(stack_settings))
    assert result.exit_code == 0, result.output
    assert f"kafka: 127.0.0.1:{stack_settings.stack_kafka_port}" in result.stdout
    after = json.loads(runner.invoke(app, ["stack", "status"], env=_env(stack_settings)).stdout)
    assert after["kafka"]["pid"] == before["kafka"]["pid"]


def test_unknown_service_name_is_a_usage_error(stack_settings):
    result = runner.invoke(app, ["stack", "up", "--service", "zookeeper"], env=_env(stack_settings))
    assert result.exit_code == 2
    assert "zookeeper" in result.output


def test_check_passes_when_kafka_and_the_engine_answer(stack_settings):
    result = runner.invoke(app, ["check", "--kafka", "--search"], env=_env(stack_settings))
    assert result.exit_code == 0, result.output


def test_check_fails_with_a_reason_when_kafka_is_unreachable(stack_settings):
    env = _env(stack_settings) | {"RASD_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{_closed_port()}"}
    result = runner.invoke(app, ["check", "--kafka"], env=env)
    assert result.exit_code == 1
    assert "kafka" in result.output


def test_crawl_without_sources_is_a_usage_error(stack_settings):
    result = runner.invoke(app, ["crawl"], env=_env(stack_settings) | {"RASD_SOURCES_FILE": ""})
    assert result.exit_code == 2
    assert "sources" in result.output


def test_cli_service_names_are_the_stacks():
    from deploy.stack import manager
    from rasd.cli import SERVICES

    assert tuple(SERVICES) == tuple(manager.ALL_SERVICES)


def test_wipe_refuses_to_delete_the_data_of_a_running_server(stack_settings):
    result = runner.invoke(app, ["stack", "wipe", "--service", "kafka"], env=_env(stack_settings))
    assert result.exit_code == 1
    assert "kafka is running" in result.output
    status = json.loads(runner.invoke(app, ["stack", "status"], env=_env(stack_settings)).stdout)
    assert status["kafka"]["healthy"]

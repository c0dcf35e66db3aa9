"""`rasd alerts list` and `rasd notify` against the test stack."""
import json
import signal
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from rasd.cli import app
from tests.indexer.alerts.alert_support import (
    SECRET,
    emit,
    fast,
    make_alert,
    pending,
    states,
    wait_until,
)
from deploy.webhook_sink import WebhookServer
from tests.indexer.support import settings_env

runner = CliRunner()
REPO_ROOT = Path(__file__).resolve().parents[2]


def _env(settings) -> dict[str, str]:
    return {"RASD_SEARCH_URL": settings.search_url, "RASD_ALERTS_INDEX": settings.alerts_index}


def _emit_three(settings, client):
    hooks = {"ops": "http://127.0.0.1:9/ops", "desk": "http://127.0.0.1:9/desk"}
    alerts = [make_alert(1), make_alert(2, rule="artsakh", title="Artsakh talks"), make_alert(3)]
    emit(settings, client, [pending(a, hooks) for a in alerts])
    client.refresh_index(settings.alerts_index)
    return alerts


def test_alerts_list_shows_the_newest_first_with_delivery_states(settings, alerts_client):
    alerts = _emit_three(settings, alerts_client)
    result = runner.invoke(app, ["alerts", "list"], env=_env(settings))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    headers = [line for line in lines if not line.startswith(" ")]
    assert [h.split()[2] for h in headers] == ["karabakh", "artsakh", "karabakh"]
    assert "[high]" in headers[0] and "example-news" in headers[0]
    assert alerts[2].title in result.stdout and alerts[2].url in result.stdout
    assert result.stdout.count("deliveries: ops=pending, desk=pending") == 3


def test_alerts_list_filters_by_rule_and_limits(settings, alerts_client):
    alerts = _emit_three(settings, alerts_client)
    result = runner.invoke(app, ["alerts", "list", "--rule", "karabakh", "--limit", "1", "--json"], env=_env(settings))
    assert result.exit_code == 0, result.output
    [only] = json.loads(result.stdout)
    assert only["id"] == alerts[2].id and only["rule"] == "karabakh"
    assert {"alerted_at", "severity", "source", "title", "url"} <= set(only)
    assert [(d["channel"], d["state"]) for d in only["deliveries"]] == [("ops", "pending"), ("desk", "pending")]
    none = runner.invoke(app, ["alerts", "list", "--rule", "nothing"], env=_env(settings))
    assert none.exit_code == 0 and "no alerts for rule nothing" in none.stdout


def test_alerts_list_before_any_alert_says_so(settings, opensearch_url):
    result = runner.invoke(app, ["alerts", "list"], env=_env(settings))
    assert result.exit_code == 0
    assert f"the alerts index {settings.alerts_index} does not exist" in result.stderr
    as_json = runner.invoke(app, ["alerts", "list", "--json"], env=_env(settings))
    assert json.loads(as_json.stdout) == []


def test_notify_delivers_until_sigterm_and_exits_cleanly(settings, alerts_client):
    settings = fast(settings)
    alert = make_alert(1)
    with WebhookServer(SECRET) as hook:
        proc = subprocess.Popen(
            [sys.executable, "-m", "rasd.cli", "notify"],
            # settings_env cannot see through the SecretStr
            env=settings_env(settings) | {"RASD_ALERT_WEBHOOK_SECRET": SECRET},
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            emit(settings, alerts_client, [pending(alert, {"ops": hook.url})])
            assert hook.wait_for(lambda: len(hook.delivered()) == 1, timeout=30)
            assert wait_until(lambda: states(alerts_client, settings, alert.id) == {"ops": "delivered"})
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=30)
        finally:
            proc.kill()
    assert proc.returncode == 0, err
    assert json.loads(out)["delivered"] == 1
    assert hook.requests[0].signature_valid

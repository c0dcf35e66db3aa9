"""`rasd notify` and `rasd alerts ...`: deliver alerts, look at them."""
from __future__ import annotations

import json
import signal
from typing import Annotated, Any, Optional

import typer

alerts_app = typer.Typer(no_args_is_help=True, help="Alerts the rules raised.")

_LIST_FIELDS = ["id", "alerted_at", "rule", "severity", "source", "title", "url", "snippet", "deliveries"]


def notify() -> None:
    """Run the notifier: alerts topic -> webhooks, with retries, cooldowns and digests (until SIGTERM or Ctrl-C)."""
    from indexer.alerts.notifier import run_notifier
    from ingest.engines.detect import open_configured_client
    from ingest.kafka_io import ensure_topics
    from ingest.observability import observe
    from rasd.cli import _settings, _stop_on_sigterm

    settings = _settings()
    stop = _stop_on_sigterm()
    # Ctrl-C ends it the same way: the batch in flight is finished and committed.
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with observe(settings, "notify") as observed:
        ensure_topics(settings)
        client = open_configured_client(settings)
        try:
            stats = run_notifier(settings, client, stop=stop, liveness=observed.liveness)
        finally:
            client.close()
    typer.echo(json.dumps(vars(stats), indent=2))


def recent_alerts(client: Any, index: str, *, rule: str | None, limit: int) -> list[dict[str, Any]]:
    """The newest ``limit`` alerts (of ``rule``), newest first."""
    query: dict[str, Any] = {"term": {"rule": rule}} if rule else {"match_all": {}}
    body = {"size": limit, "query": query, "sort": [{"alerted_at": "desc"}], "_source": _LIST_FIELDS}
    return [hit["_source"] for hit in client.search_raw(index, body)["hits"]["hits"]]


def _render(alert: dict[str, Any]) -> str:
    states = ", ".join(f"{d['channel']}={d['state']}" for d in alert.get("deliveries") or []) or "no channels"
    return "\n".join(
        [
            f"{alert['alerted_at']}  [{alert.get('severity', '')}] {alert['rule']}  {alert.get('source', '')}",
            f"    {alert.get('title') or '(no title)'}",
            f"    {alert.get('url', '')}",
            f"    deliveries: {states}",
        ]
    )


@alerts_app.command("list")
def alerts_list(
    rule: Annotated[Optional[str], typer.Option("--rule", help="only this rule's alerts")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000, help="how many, newest first")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON array, for scripts")] = False,
) -> None:
    """Show the newest alerts: when, rule, severity, source, title, URL and each channel's delivery state."""
    from ingest.engines.detect import open_configured_client
    from rasd.cli import _settings

    settings = _settings()
    client = open_configured_client(settings)
    try:
        if not client.index_exists(settings.alerts_index):
            typer.echo(
                f"no alerts yet: the alerts index {settings.alerts_index} does not exist "
                "(it is created when the indexer records the first alert)",
                err=True,
            )
            if as_json:
                typer.echo("[]")
            return
        alerts = recent_alerts(client, settings.alerts_index, rule=rule, limit=limit)
    finally:
        client.close()
    if as_json:
        typer.echo(json.dumps(alerts, indent=2, ensure_ascii=False))
    elif not alerts:
        typer.echo(f"no alerts{f' for rule {rule}' if rule else ''}")
    else:
        typer.echo("\n".join(_render(a) for a in alerts))

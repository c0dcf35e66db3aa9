"""What every benchmark does around a run: percentiles of its timings, and
dropping the run's namespaced topics and indices afterwards so repeated
benchmarks do not pile up on the local stack.

Indices are deleted by name through the engine client (Elasticsearch
refuses wildcard deletes); one that is not there is fine, any other failure
is printed and the cleanup goes on."""
from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable

from kafka import KafkaAdminClient

from indexer.alerts.cooldown import cooldowns_index
from indexer.mapping import template_name
from ingest.engines.client import VendorClient
from ingest.engines.detect import open_configured_client
from ingest.engines.errors import EngineError
from ingest.kafka_connection import kafka_client_kwargs
from ingest.kafka_io import all_topics
from ingest.redaction import redact_url
from ingest.settings import Settings


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile of ``values`` (not empty)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))]


def latency_summary(latencies: list[float]) -> dict[str, float | None]:
    """p50, p95, max and mean of ``latencies`` (all None when there are none)."""
    if not latencies:
        return {"p50": None, "p95": None, "max": None, "mean": None}
    return {"p50": percentile(latencies, 50), "p95": percentile(latencies, 95), "max": max(latencies),
            "mean": statistics.fmean(latencies)}


def _run_indices(client: VendorClient, settings: Settings) -> list[str]:
    """The concrete indices of a run: behind its aliases, and its plain ones."""
    found: list[str] = []
    for alias in (settings.articles_alias, settings.rules_index):
        try:
            found.extend(client.get_alias(alias))
        except EngineError as exc:
            if exc.status != 404:
                raise
    plain = (settings.alerts_index, cooldowns_index(settings), settings.crawl_status_index, settings.boilerplate_index,
             settings.cluster_index, settings.extraction_log_index)
    return found + [name for name in plain if client.index_exists(name)]


def drop_run(settings: Settings) -> None:
    """Delete the topics and indices of a run namespaced with ``Settings.namespaced``."""
    try:
        admin = KafkaAdminClient(**kafka_client_kwargs(settings))
        try:
            admin.delete_topics([t for t in all_topics(settings) if t in set(admin.list_topics())])
        finally:
            admin.close()
    except Exception as exc:  # a leftover topic must not hide the figures
        print(f"cleanup: topics of {settings.articles_alias} left: {exc!r}", file=sys.stderr)
    try:
        client = open_configured_client(settings)
    except Exception as exc:
        print(f"cleanup: engine at {redact_url(settings.search_url)} unreachable, indices left: {exc!r}", file=sys.stderr)
        return
    try:
        for index in _run_indices(client, settings):
            client.delete_index(index)
        try:
            client.delete_index_template(template_name(settings.articles_alias))
        except EngineError as exc:
            if exc.status != 404:
                raise
    except Exception as exc:
        print(f"cleanup: indices of {settings.articles_alias} left: {exc!r}", file=sys.stderr)
    finally:
        client.close()


def wait_until(condition: Callable[[], object], timeout_s: float, every_s: float = 0.2) -> bool:
    """Ask ``condition`` every ``every_s`` until it holds (True) or
    ``timeout_s`` passes (False): benchmarks report a wait that ran out."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(every_s)
    return True

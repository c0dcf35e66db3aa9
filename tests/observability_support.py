"""Reading a process's /metrics and /healthz over HTTP, as Prometheus and
docker-compose do."""
from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from typing import Any

from prometheus_client.parser import text_string_to_metric_families


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scrape(port: int) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of /metrics: (name, labels) -> value."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    """The sample ``name`` with exactly ``labels`` (0 when absent: a labelled counter not incremented yet)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def health(port: int, path: str = "/healthz") -> tuple[int, dict[str, Any]]:
    """The status and JSON body of /healthz (or ``path``: /readyz)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=15) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def readiness(port: int) -> tuple[int, dict[str, Any]]:
    return health(port, "/readyz")


def drop_ingest_stores(settings: Any, url: str) -> None:
    """Delete the shared stores a test's ingest run created (site boilerplate,
    story clusters, extraction log): the shared engine has a shard limit."""
    from ingest.engines.detect import open_client

    client = open_client(url, timeout_s=30.0)
    try:
        for index in (settings.boilerplate_index, settings.cluster_index, settings.extraction_log_index):
            if client.index_exists(index):
                client.delete_index(index)
    finally:
        client.close()

"""Reachability checks behind `rasd check` (container health checks)."""
from __future__ import annotations

from kafka import KafkaAdminClient

from ingest.kafka_connection import kafka_client_kwargs
from ingest.redaction import redact_url
from ingest.settings import Settings


def check_kafka(settings: Settings) -> list[str]:
    try:
        admin = KafkaAdminClient(**kafka_client_kwargs(settings), request_timeout_ms=10_000, bootstrap_timeout_ms=5_000)
        try:
            admin.describe_cluster()
        finally:
            admin.close()
    except Exception as exc:  # any failure means unhealthy; the message says which
        return [f"kafka {settings.kafka_bootstrap_servers}: {exc!r}"]
    return []


def check_search(settings: Settings) -> list[str]:
    from indexer.engines.detect import open_configured_engine

    try:
        engine = open_configured_engine(settings)
        engine.close()
    except Exception as exc:
        return [f"search engine {redact_url(settings.search_url)}: {exc!r}"]
    return []

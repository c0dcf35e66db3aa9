"""Reachability checks behind `rasd check` (container health checks)."""
from __future__ import annotations

from ingest.readiness import kafka_problem
from ingest.redaction import redact_url
from ingest.settings import Settings


def check_kafka(settings: Settings) -> list[str]:
    problem = kafka_problem(settings, timeout_s=10.0)
    return [problem] if problem else []


def check_search(settings: Settings) -> list[str]:
    from indexer.engines.detect import open_configured_engine

    try:
        engine = open_configured_engine(settings)
        engine.close()
    except Exception as exc:
        return [f"search engine {redact_url(settings.search_url)}: {exc!r}"]
    return []

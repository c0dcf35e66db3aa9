"""Readiness of a long-running process (``/readyz``): its work loop has
started and the services it depends on answer now (Kafka always, the search
engine where the process uses one).

Liveness (``/healthz``) says whether to restart the process; readiness says
whether it can do its work right now. A worker waiting out a Kafka or engine
outage is live (restarting it would not help) but not ready, and an
orchestrator shows it, or keeps traffic and rollouts away from it, until the
dependency is back.

Each probe is one cheap round trip with a short timeout. Answers are
reused for ``_REUSE_S`` and one probe runs at a time, so a burst of
requests to /readyz costs the brokers and the engine one round trip."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from kafka import KafkaAdminClient

from ingest.engines.connection import EngineConnection
from ingest.engines.detect import server_info
from ingest.kafka_connection import kafka_client_kwargs
from ingest.redaction import redact_url
from ingest.settings import Settings

# None when the dependency answers, else why it does not
Probe = Callable[[], str | None]

# Below the usual readiness-probe timeouts of an orchestrator (a few seconds):
# a dependency slower than this is not ready for work either.
_TIMEOUT_S = 3.0
_REUSE_S = 1.0


def kafka_problem(settings: Settings, timeout_s: float = _TIMEOUT_S) -> str | None:
    """Why the Kafka brokers do not answer a metadata request, or None."""
    timeout_ms = int(timeout_s * 1000)
    try:
        admin = KafkaAdminClient(**{**kafka_client_kwargs(settings), "bootstrap_timeout_ms": timeout_ms},
                                 request_timeout_ms=timeout_ms)
        try:
            admin.describe_cluster()
        finally:
            admin.close()
    except Exception as exc:  # noqa: BLE001 - any failure means "not answering"; the message says which
        return f"kafka {settings.kafka_bootstrap_servers}: {exc!r}"
    return None


def engine_problem(settings: Settings, timeout_s: float = _TIMEOUT_S) -> str | None:
    """Why the search engine at ``search_url`` does not answer ``GET /`` with
    the settings' credentials and TLS options, or None."""
    url = settings.search_url
    try:
        server_info(EngineConnection.from_settings(settings), timeout_s=timeout_s)
    except Exception as exc:  # noqa: BLE001 - as above
        # the URL may carry a password; errors repeat the URL
        return f"search engine {redact_url(url)}: {str(exc).replace(url, redact_url(url))}"
    return None


def probes(settings: Settings, *, engine: bool) -> dict[str, Probe]:
    """The probes of a process that uses Kafka and (``engine``) the search engine."""
    found: dict[str, Probe] = {"kafka": lambda: kafka_problem(settings)}
    if engine:
        found["engine"] = lambda: engine_problem(settings)
    return found


class Readiness:
    """``report()``: ready once ``started()`` and every probe answers None."""

    def __init__(self, started: Callable[[], bool], checks: Mapping[str, Probe]) -> None:
        self._started = started
        self._checks = dict(checks)
        self._lock = threading.Lock()
        self._answers: dict[str, str | None] = {}
        self._at = float("-inf")

    def _probe(self) -> dict[str, str | None]:
        with self._lock:
            if time.monotonic() - self._at > _REUSE_S:
                self._answers = {name: probe() for name, probe in self._checks.items()}
                self._at = time.monotonic()
            return self._answers

    def report(self) -> dict[str, Any]:
        started = self._started()
        checks: dict[str, str] = {"loop": "started" if started else "not started"}
        problems = [] if started else ["the work loop has not started yet"]
        for name, problem in self._probe().items():
            checks[name] = "ok" if problem is None else "unreachable"
            if problem is not None:
                problems.append(problem)
        body: dict[str, Any] = {"ready": not problems, "checks": checks}
        if problems:
            body["reason"] = "; ".join(problems)
        return body

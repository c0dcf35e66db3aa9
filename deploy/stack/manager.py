"""Start, stop and inspect the local stack: real Kafka, OpenSearch and
Elasticsearch servers from Maven Central, run as detached ``java``
processes on 127.0.0.1 (``rasd stack up|down|status|fetch``).

Layout under ``settings.stack_dir``: ``cache/`` holds downloads (shared by
every run), ``run/<service>/`` holds each server's pid file, config, data
and logs. A running server is found again through its pid file, so ``up``
is idempotent and ``down`` works from any process."""
from __future__ import annotations

import fcntl
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import structlog

from deploy.stack import fetch as fetching
from deploy.stack.elasticsearch import ElasticsearchService
from deploy.stack.kafka import KafkaService
from deploy.stack.opensearch import OpenSearchService
from deploy.stack.errors import StackError
from deploy.stack.procs import cpu_seconds, port_in_use, read_pid, rss_bytes, spawn, stop, tail
from deploy.stack.service import Service
from deploy.stack.versions import ELASTICSEARCH_VERSION, KAFKA_VERSION, OPENSEARCH_VERSION
from ingest.settings import Settings

__all__ = [
    "ALL_SERVICES",
    "ELASTICSEARCH_VERSION",
    "KAFKA_VERSION",
    "OPENSEARCH_VERSION",
    "StackError",
    "down",
    "fetch",
    "status",
    "up",
]

log = structlog.get_logger(__name__)

SERVICES: dict[str, Service] = {
    "kafka": KafkaService(),
    "opensearch": OpenSearchService(),
    "elasticsearch": ElasticsearchService(),
}
ALL_SERVICES: tuple[str, ...] = tuple(SERVICES)
READY_TIMEOUT_S = 240.0
STOP_TIMEOUT_S = 60.0


def _root(settings: Settings) -> Path:
    return Path(settings.stack_dir).expanduser().resolve()


def cache_dir(settings: Settings) -> Path:
    return _root(settings) / "cache"


def state_dir(settings: Settings, service: str) -> Path:
    return _root(settings) / "run" / service


def _pid_file(settings: Settings, service: str) -> Path:
    # beside, not inside, the state folder: that one may belong to another user
    return _root(settings) / "run" / f"{service}.pid"


def _check(services: Sequence[str]) -> list[str]:
    unknown = [s for s in services if s not in SERVICES]
    if unknown:
        raise StackError(f"unknown service(s) {unknown}; choose from {list(SERVICES)}")
    return list(dict.fromkeys(services))


def _running_pid(settings: Settings, service: str) -> int | None:
    return read_pid(_pid_file(settings, service), str(state_dir(settings, service)))


def fetch(settings: Settings, services: Sequence[str] = ALL_SERVICES) -> None:
    """Download the servers into ``<stack_dir>/cache``; a no-op once present."""
    wanted = _check(services)
    cache = cache_dir(settings)
    if all(fetching.is_fetched(s, cache) for s in wanted):
        return
    with _locked(settings):
        _fetch_missing(settings, wanted)


def _fetch_missing(settings: Settings, services: Sequence[str]) -> None:
    cache = cache_dir(settings)
    missing = [s for s in services if not fetching.is_fetched(s, cache)]
    if not missing:
        return
    fetching.find_mvn()
    cache.mkdir(parents=True, exist_ok=True)
    for s in missing:
        fetching.FETCHERS[s](cache)


def _ensure_ports_free(settings: Settings, service: str) -> None:
    for port in SERVICES[service].ports(settings):
        if port_in_use(port):
            raise StackError(
                f"cannot start {service}: 127.0.0.1:{port} is already in use by another process "
                f"(not a {service} started from {_root(settings)}); stop it or choose other stack_* ports"
            )


def _start(settings: Settings, service: str) -> subprocess.Popen[bytes]:
    svc = SERVICES[service]
    state = state_dir(settings, service)
    state.mkdir(parents=True, exist_ok=True)
    launch = svc.prepare(settings, cache_dir(settings), state)
    log.info("stack_starting", service=service, ports=svc.ports(settings))
    return spawn(launch.argv, log_file=state / "console.log", pid_file=_pid_file(settings, service), cwd=launch.cwd, env=launch.env)


def _log_tails(settings: Settings, service: str) -> str:
    parts = []
    for f in SERVICES[service].log_files(state_dir(settings, service)):
        if f.exists():
            parts.append(f"--- {f} (last lines) ---\n{tail(f)}")
    return "\n".join(parts) or "(no log written)"


def _wait_ready(settings: Settings, service: str, proc: subprocess.Popen[bytes] | None, timeout_s: float) -> None:
    svc = SERVICES[service]
    t0 = time.monotonic()
    next_note = t0 + 10
    while True:
        if proc is not None and proc.poll() is not None:
            raise StackError(f"{service} exited during start-up (exit {proc.returncode}):\n{_log_tails(settings, service)}")
        if proc is None and _running_pid(settings, service) is None:
            raise StackError(f"{service} is no longer running:\n{_log_tails(settings, service)}")
        if svc.ready(settings):
            log.info("stack_ready", service=service, url=svc.endpoint(settings), seconds=round(time.monotonic() - t0, 1))
            return
        now = time.monotonic()
        if now - t0 > timeout_s:
            raise StackError(f"{service} not ready after {timeout_s:.0f}s:\n{_log_tails(settings, service)}")
        if now >= next_note:
            log.info("stack_waiting", service=service, seconds=round(now - t0))
            next_note = now + 10
        time.sleep(0.5)


@contextmanager
def _locked(settings: Settings) -> Iterator[None]:
    """Serialize up/down across processes (parallel test sessions, CLI calls)
    so two callers never race to start the same server."""
    run = _root(settings) / "run"
    run.mkdir(parents=True, exist_ok=True)
    with open(run / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def up(
    settings: Settings,
    services: Sequence[str] = ALL_SERVICES,
    *,
    timeout_s: float = READY_TIMEOUT_S,
) -> dict[str, str]:
    """Fetch if needed, start what is not running, wait until every server is
    ready; return service -> URL (search engines) or bootstrap address (Kafka).
    Servers already running from this ``stack_dir`` are reused."""
    wanted = _check(services)
    with _locked(settings):
        running = {s: _running_pid(settings, s) for s in wanted}
        to_start = [s for s in wanted if running[s] is None]
        # refuse early, before any download, when a port belongs to someone else
        for s in to_start:
            _ensure_ports_free(settings, s)
        _fetch_missing(settings, to_start)
        started: dict[str, subprocess.Popen[bytes] | None] = {}
        try:
            for s in wanted:
                if running[s] is not None:
                    log.info("stack_already_running", service=s, pid=running[s])
                    started[s] = None
                else:
                    started[s] = _start(settings, s)
            # the servers boot concurrently; wait for each in turn
            for s in wanted:
                _wait_ready(settings, s, started[s], timeout_s)
        except BaseException:
            # leave nothing half-started behind a failed call
            for s, proc in started.items():
                if proc is not None and proc.poll() is None:
                    stop(proc.pid, timeout_s=15, name=s)
                    _pid_file(settings, s).unlink(missing_ok=True)
            raise
    return {s: SERVICES[s].endpoint(settings) for s in wanted}


def down(settings: Settings, services: Sequence[str] = ALL_SERVICES, *, timeout_s: float = STOP_TIMEOUT_S) -> None:
    """Stop the given servers (SIGTERM, SIGKILL after ``timeout_s``); data is kept."""
    wanted = _check(services)
    with _locked(settings):
        for s in wanted:
            pid = _running_pid(settings, s)
            if pid is None:
                log.info("stack_not_running", service=s)
            else:
                log.info("stack_stopping", service=s, pid=pid)
                stop(pid, timeout_s=timeout_s, name=s)
                log.info("stack_stopped", service=s)
            _pid_file(settings, s).unlink(missing_ok=True)


def status(settings: Settings, services: Sequence[str] = ALL_SERVICES) -> dict[str, dict[str, Any]]:
    """Per service: running, pid, ports, url, healthy, rss_bytes, state dir."""
    out: dict[str, dict[str, Any]] = {}
    for s in _check(services):
        svc = SERVICES[s]
        pid = _running_pid(settings, s)
        out[s] = {
            "running": pid is not None,
            "pid": pid,
            "port": svc.ports(settings)[0],
            "ports": svc.ports(settings),
            "url": svc.endpoint(settings),
            "healthy": pid is not None and svc.healthy(settings),
            "rss_bytes": rss_bytes(pid) if pid is not None else 0,
            "state_dir": str(state_dir(settings, s)),
        }
    return out


def service_cpu_seconds(settings: Settings, service: str) -> float:
    """CPU time the running server has spent so far (0 when it is not running)."""
    pid = _running_pid(settings, service)
    return cpu_seconds(pid) if pid is not None else 0.0


def wipe(settings: Settings, services: Sequence[str] = ALL_SERVICES) -> None:
    """Delete the data of stopped servers (the download cache is kept)."""
    for s in _check(services):
        if _running_pid(settings, s) is not None:
            raise StackError(f"{s} is running; stop it before wiping its data")
        for folder in SERVICES[s].data_dirs(state_dir(settings, s)):
            shutil.rmtree(folder, ignore_errors=True)

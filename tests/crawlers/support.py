"""Running continuous crawls in tests: in a thread of the test process (the
crawl itself runs in its child process) until a condition holds."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from crawlers.run import CrawlReport, crawl
from crawlers.sources import Source
from ingest.settings import Settings


def quick(settings: Settings, **update: Any) -> Settings:
    """Continuous-crawl settings for loopback test sites: no politeness
    delay unless a test asks, polls every few seconds."""
    values: dict[str, Any] = {
        "crawl_download_delay_s": 0.0,
        "crawl_concurrency_per_domain": 4,
        "crawl_poll_interval_s": 3.0,
        "crawl_poll_min_s": 1.0,
        "crawl_poll_max_s": 6.0,
        "crawl_error_backoff_max_s": 10.0,
        "crawl_frontier_tick_s": 0.2,
        "crawl_sources_reload_s": 0.5,
        "crawl_download_timeout_s": 10.0,
    }
    values.update(update)
    return settings.model_copy(update=values)


# every crawl a test started: tests/crawlers/conftest.py stops those a
# failed test left running
STARTED: list["Running"] = []


class Running:
    """A continuous crawl started in the background; ``stop()`` asks it to
    finish (as SIGTERM would) and returns its report."""

    def __init__(self, settings: Settings, sources: list[Source], sources_file: Any = None, **overrides: Any) -> None:
        self.stop_event = threading.Event()
        self.report: CrawlReport | None = None
        self.error: BaseException | None = None
        self.pid: int | None = None

        def run() -> None:
            try:
                self.report = crawl(
                    settings, sources, continuous=True,
                    sources_file=sources_file,
                    stop=self.stop_event,
                    timeout_s=900,
                    on_start=self._started,
                    **overrides,
                )
            except BaseException as exc:  # noqa: BLE001 - re-raised by stop()
                self.error = exc

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        STARTED.append(self)

    def _started(self, pid: int) -> None:
        self.pid = pid

    def kill(self) -> None:
        """SIGKILL the crawl process (no chance to save anything)."""
        import os
        import signal

        wait_until(lambda: self.pid is not None, 30, "crawl process started")
        assert self.pid is not None
        os.kill(self.pid, signal.SIGKILL)
        self.thread.join(60)
        assert not self.thread.is_alive()

    def stop(self, timeout_s: float = 120.0) -> CrawlReport:
        self.stop_event.set()
        self.thread.join(timeout_s)
        assert not self.thread.is_alive(), "continuous crawl did not stop"
        if self.error is not None:
            raise self.error
        assert self.report is not None
        return self.report


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str, every_s: float = 0.2) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout_s}s waiting for {what}"
        time.sleep(every_s)


def settings_env(settings: Settings) -> dict[str, str]:
    """The RASD_* environment that gives a child process these settings."""
    import json

    env: dict[str, str] = {}
    for name, value in settings.dump_with_secrets().items():
        if value is None:
            continue
        env[f"RASD_{name.upper()}"] = json.dumps(value) if isinstance(value, (list, dict)) else str(value)
    return env


class SwitchableProxy:
    """A TCP proxy on loopback in front of a server, which a test can cut
    (every connection dropped, new ones refused) and restore: a search
    engine that goes away for a while."""

    def __init__(self, target_host: str, target_port: int) -> None:
        import socket

        self.target = (target_host, target_port)
        self.up = threading.Event()
        self.up.set()
        self._server = socket.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(64)
        self.port = self._server.getsockname()[1]
        self._conns: list[Any] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        import socket

        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            if not self.up.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: Any, dst: Any) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.close()
                except OSError:
                    pass

    def cut(self) -> None:
        import socket

        self.up.clear()
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            except OSError:
                pass

    def restore(self) -> None:
        self.up.set()

    def close(self) -> None:
        self.cut()
        self._server.close()

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
    for name, value in settings.model_dump(mode="json").items():
        if value is None:
            continue
        if name == "search_password" and settings.search_password is not None:
            value = settings.search_password.get_secret_value()
        env[f"RASD_{name.upper()}"] = json.dumps(value) if isinstance(value, (list, dict)) else str(value)
    return env

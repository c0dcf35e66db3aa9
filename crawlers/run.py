"""Running one crawl to completion and reporting what it did.

Twisted's reactor can run once per process, so ``crawl()`` runs Scrapy in a
child process (``python -m crawlers.run``): callers such as ``rasd crawl``,
tests and schedulers can crawl any number of times, and a crash inside
Scrapy cannot take the caller down. A child process started with
``subprocess`` (not ``multiprocessing``) needs nothing picklable and nothing
importable from the caller's ``__main__``: the job goes in as JSON, the
report comes back as JSON, and logs stream to the caller's stderr.
"""
from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from collections.abc import Callable
from typing import Any

import structlog
from pydantic import BaseModel, Field
from twisted.python.failure import Failure

from ingest.settings import Settings

from crawlers.pipelines import PAGES_STAT
from crawlers.sources import Source

log = structlog.get_logger(__name__)


class CrawlError(RuntimeError):
    """The crawl process failed before it could report."""


class CrawlReport(BaseModel):
    finish_reason: str | None = None
    elapsed_s: float = 0.0
    requests: int = Field(0, description="HTTP requests sent, robots.txt and retries included")
    responses_by_status: dict[int, int] = Field(default_factory=dict)
    pages_published: int = 0
    dead_letters: dict[str, int] = Field(default_factory=dict, description="by reason")
    robots_forbidden: int = 0
    duplicate_articles: int = Field(0, description="article links skipped as already seen this crawl")
    retries: int = 0
    publish_errors: int = Field(0, description="sends or flushes Kafka refused: records were lost")
    not_modified: int = Field(0, description="listings and articles answered 304 (unchanged, not re-read)")
    links_published: int = Field(0, description="continuous crawl: links sent to the frontier")
    host_holds: int = Field(0, description="times a host was held back (Retry-After, error backoff)")

    @property
    def ok(self) -> bool:
        """Finished on its own (or was asked to stop) and lost nothing on the way to Kafka."""
        return self.finish_reason in ("finished", "shutdown") and self.publish_errors == 0

    @property
    def pages_per_second(self) -> float:
        return self.pages_published / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @classmethod
    def from_stats(cls, stats: dict[str, Any]) -> CrawlReport:
        prefix_status = "downloader/response_status_count/"
        prefix_dead = "rasd/dead_letters/"
        return cls(
            finish_reason=stats.get("finish_reason"),
            elapsed_s=float(stats.get("elapsed_time_seconds") or 0.0),
            requests=int(stats.get("downloader/request_count", 0)),
            responses_by_status={int(k[len(prefix_status):]): int(v) for k, v in stats.items() if k.startswith(prefix_status)},
            pages_published=int(stats.get(PAGES_STAT, 0)),
            dead_letters={k[len(prefix_dead):]: int(v) for k, v in stats.items() if k.startswith(prefix_dead)},
            robots_forbidden=int(stats.get("robotstxt/forbidden", 0)),
            duplicate_articles=int(stats.get("rasd/duplicate_articles", 0)),
            retries=int(stats.get("retry/count", 0)),
            publish_errors=int(stats.get("rasd/publish_errors", 0)),
            not_modified=int(stats.get("rasd/listings_not_modified", 0)) + int(stats.get("rasd/articles_not_modified", 0)),
            links_published=int(stats.get("rasd/frontier/links_published", 0)),
            host_holds=int(stats.get("rasd/host_holds", 0)),
        )


def crawl_in_this_process(
    settings: Settings,
    sources: list[Source],
    *,
    continuous: bool = False,
    sources_file: str | None = None,
    **overrides: Any,
) -> CrawlReport:
    """Run the crawl here, starting (and stopping) Twisted's reactor: once
    per process. Use ``crawl()`` unless this process exists for it."""
    from scrapy.crawler import CrawlerProcess

    from crawlers.settings import continuous_overrides, download_slots, scrapy_settings
    from ingest.logs import quiet_libraries
    from crawlers.spiders.monitor import MonitorSpider
    from crawlers.spiders.news import NewsSpider

    policies = download_slots(sources)
    overrides.setdefault("RASD_HOST_POLICIES", policies)
    # Scrapy's slots only carry the concurrency: the delay is the politeness
    # middleware's (a second delay in the slot would be measured differently)
    overrides.setdefault(
        "DOWNLOAD_SLOTS", {h: {"concurrency": p["concurrency"]} for h, p in policies.items() if "concurrency" in p}
    )
    if continuous:
        overrides = {**continuous_overrides(), **overrides}
    if settings.log_level.upper() != "DEBUG":
        # Scrapy's start banner is logged while Scrapy holds its loggers at
        # DEBUG, before quiet_libraries below can act
        logging.getLogger("scrapy.utils.log").addFilter(lambda record: record.levelno > logging.INFO)
    process = CrawlerProcess(scrapy_settings(settings, **overrides))
    # Scrapy has just set its loggers to DEBUG: per-request lines and the
    # stats dump stay out of the default output (the report has the counts)
    quiet_libraries(settings.log_level)
    crawler = process.create_crawler(MonitorSpider if continuous else NewsSpider)
    failures: list[Failure] = []
    # a crawl that cannot start (e.g. Kafka unreachable when the pipeline
    # opens) fails this Deferred; Scrapy only logs it
    kwargs: dict[str, Any] = {"sources": sources}
    if continuous:
        kwargs["sources_file"] = sources_file
    process.crawl(crawler, **kwargs).addErrback(failures.append)
    from twisted.internet import reactor

    # a stop asked for before Scrapy installed its own signal handlers
    reactor.callWhenRunning(lambda: _EARLY_STOP.is_set() and process.stop())  # type: ignore[attr-defined]
    process.start()
    if failures:
        raise CrawlError(f"crawl could not run: {failures[0].getErrorMessage()}")
    assert crawler.stats is not None
    report = CrawlReport.from_stats(crawler.stats.get_stats())
    log.info("crawl_finished", **report.model_dump(), pages_per_second=round(report.pages_per_second, 2))
    return report


def _job_settings(settings: Settings) -> dict[str, Any]:
    # JSON dumps mask secrets; the child needs the real ones (the job file
    # lives in a private temporary folder and is deleted at the end)
    return settings.dump_with_secrets()


def _die_with_parent() -> None:
    """In the child, before exec: if the parent dies (even by SIGKILL), the
    kernel sends the child SIGTERM, so no crawl goes on as an orphan."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


PR_SET_PDEATHSIG = 1
STOP_GRACE_S = 60.0


def crawl(
    settings: Settings,
    sources: list[Source],
    *,
    continuous: bool = False,
    sources_file: str | Path | None = None,
    timeout_s: float | None = None,
    stop: threading.Event | None = None,
    on_start: Callable[[int], None] | None = None,
    **overrides: Any,
) -> CrawlReport:
    """Crawl ``sources`` in a child process, publishing to Kafka, and return
    the counts. One pass by default; ``continuous`` runs the frontier-driven
    crawl until ``stop`` is set or this process gets SIGTERM/SIGINT (then
    the child stops cleanly: spider closed, Kafka flushed, state saved).
    ``sources_file`` is re-read while a continuous crawl runs.
    ``on_start`` is given the crawl process's pid.

    ``overrides`` are Scrapy settings (JSON-serializable values), e.g.
    ``CLOSESPIDER_TIMEOUT=600``. ``timeout_s`` stops a crawl that does not
    end by itself (SIGTERM, then SIGKILL after a grace period).
    Raises CrawlError when the crawl process fails without a report."""
    job = {
        "settings": _job_settings(settings),
        "sources": [s.model_dump(mode="json", exclude={"allowed_domains"}) for s in sources],
        "sources_file": str(sources_file) if sources_file else None,
        "continuous": continuous,
        "overrides": overrides,
        "parent_pid": os.getpid(),
    }
    stop = stop or threading.Event()
    with tempfile.TemporaryDirectory(prefix="rasd-crawl-") as tmp:
        job_path = Path(tmp, "job.json")
        report_path = Path(tmp, "report.json")
        job_path.write_text(json.dumps(job), encoding="utf-8")
        cmd = [sys.executable, "-m", "crawlers.run", "--job", str(job_path), "--report", str(report_path)]
        # its own session: a Ctrl-C in the terminal reaches only this
        # process, which asks the child to stop once, cleanly
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, env=os.environ.copy(), start_new_session=True, preexec_fn=_die_with_parent
        )
        if on_start is not None:
            on_start(proc.pid)
        previous = _forward_signals(stop)
        try:
            timed_out = _wait(proc, stop, timeout_s)
        finally:
            _restore_signals(previous)
        if timed_out:
            raise CrawlError(f"crawl process did not finish within {timeout_s}s")
        if not report_path.exists():
            raise CrawlError(f"crawl process exited with code {proc.returncode} without a report (see its log above)")
        result = json.loads(report_path.read_text(encoding="utf-8"))
    if "error" in result:
        raise CrawlError(result["error"])
    return CrawlReport.model_validate(result["report"])


def _forward_signals(stop: threading.Event) -> dict[int, Any]:
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous = {}
    for signum in (signal.SIGTERM, signal.SIGINT):
        previous[signum] = signal.signal(signum, lambda *_: stop.set())
    return previous


def _restore_signals(previous: dict[int, Any]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)


def _wait(proc: subprocess.Popen[bytes], stop: threading.Event, timeout_s: float | None) -> bool:
    """Wait for the child; on ``stop`` or timeout send it one SIGTERM and
    give it STOP_GRACE_S to finish before SIGKILL. True if it timed out."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    terminated_at: float | None = None
    timed_out = False
    while proc.poll() is None:
        now = time.monotonic()
        if terminated_at is None and (stop.is_set() or (deadline is not None and now >= deadline)):
            timed_out = not stop.is_set()
            proc.send_signal(signal.SIGTERM)
            terminated_at = now
        elif terminated_at is not None and now - terminated_at > STOP_GRACE_S:
            proc.kill()
        try:
            proc.wait(timeout=0.2)
        except subprocess.TimeoutExpired:
            pass
    return timed_out


# Set by SIGTERM/SIGINT while the child starts up, before Scrapy's handlers
# exist: the crawl then stops as soon as it runs, cleanly, with a report.
_EARLY_STOP = threading.Event()


def _run_job(job_path: Path, report_path: Path) -> int:
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: _EARLY_STOP.set())
    job = json.loads(job_path.read_text(encoding="utf-8"))
    try:
        return _run(job, report_path)
    finally:
        if os.getppid() != job.get("parent_pid", os.getppid()):
            # The parent was killed and will not clean up: its temporary
            # folder, with the job's settings in it, would stay behind.
            shutil.rmtree(job_path.parent, ignore_errors=True)


def _run(job: dict[str, Any], report_path: Path) -> int:
    from ingest.logs import bind_process, configure_logging

    settings = Settings(**job["settings"])
    configure_logging(settings.log_level, settings.log_json)
    bind_process(stage="crawl")
    # Rasd's logging owns the root handler; a second one from Scrapy would
    # print every line twice. Scrapy sets its own loggers to DEBUG, so the
    # level is enforced on the handler instead.
    for handler in logging.root.handlers:
        handler.setLevel(settings.log_level.upper())
    overrides = {"LOG_INSTALL_ROOT_HANDLER": False, **job.get("overrides", {})}
    sources = [Source.model_validate(s) for s in job["sources"]]
    try:
        report = crawl_in_this_process(
            settings, sources, continuous=bool(job.get("continuous")), sources_file=job.get("sources_file"), **overrides
        )
    except CrawlError as exc:
        log.error("crawl_failed", error=str(exc))
        report_path.write_text(json.dumps({"error": str(exc)}), encoding="utf-8")
        return 1
    report_path.write_text(json.dumps({"report": report.model_dump(mode="json")}), encoding="utf-8")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crawlers.run", description="Run one Rasd crawl (used by crawl()).")
    parser.add_argument("--job", type=Path, required=True, help="JSON: settings, sources, overrides")
    parser.add_argument("--report", type=Path, required=True, help="where to write the CrawlReport JSON")
    args = parser.parse_args(argv)
    return _run_job(args.job, args.report)


if __name__ == "__main__":
    sys.exit(main())

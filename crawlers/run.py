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
import json
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path
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

    @property
    def ok(self) -> bool:
        """Finished on its own and lost nothing on the way to Kafka."""
        return self.finish_reason == "finished" and self.publish_errors == 0

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
        )


def crawl_in_this_process(settings: Settings, sources: list[Source], **overrides: Any) -> CrawlReport:
    """Run the crawl here, starting (and stopping) Twisted's reactor: once
    per process. Use ``crawl()`` unless this process exists for it."""
    from scrapy.crawler import CrawlerProcess

    from crawlers.settings import download_slots, scrapy_settings
    from crawlers.spiders.news import NewsSpider

    slots = download_slots(sources)
    if slots and "DOWNLOAD_SLOTS" not in overrides:
        overrides["DOWNLOAD_SLOTS"] = slots
    process = CrawlerProcess(scrapy_settings(settings, **overrides))
    crawler = process.create_crawler(NewsSpider)
    failures: list[Failure] = []
    # a crawl that cannot start (e.g. Kafka unreachable when the pipeline
    # opens) fails this Deferred; Scrapy only logs it
    process.crawl(crawler, sources=sources).addErrback(failures.append)
    process.start()
    if failures:
        raise CrawlError(f"crawl could not run: {failures[0].getErrorMessage()}")
    assert crawler.stats is not None
    report = CrawlReport.from_stats(crawler.stats.get_stats())
    log.info("crawl_finished", **report.model_dump(), pages_per_second=round(report.pages_per_second, 2))
    return report


def crawl(settings: Settings, sources: list[Source], *, timeout_s: float | None = None, **overrides: Any) -> CrawlReport:
    """Crawl ``sources`` once, publishing to Kafka, and return the counts.

    ``overrides`` are Scrapy settings (JSON-serializable values), e.g.
    ``CLOSESPIDER_TIMEOUT=600``. ``timeout_s`` kills a crawl process that
    does not end by itself; prefer CLOSESPIDER_TIMEOUT for a clean stop.
    Raises CrawlError when the crawl process fails without a report."""
    job = {
        "settings": settings.model_dump(mode="json"),
        "sources": [s.model_dump(mode="json", exclude={"allowed_domains"}) for s in sources],
        "overrides": overrides,
    }
    with tempfile.TemporaryDirectory(prefix="rasd-crawl-") as tmp:
        job_path = Path(tmp, "job.json")
        report_path = Path(tmp, "report.json")
        job_path.write_text(json.dumps(job), encoding="utf-8")
        cmd = [sys.executable, "-m", "crawlers.run", "--job", str(job_path), "--report", str(report_path)]
        try:
            proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, timeout=timeout_s, env=os.environ.copy(), check=False)
        except subprocess.TimeoutExpired as exc:
            raise CrawlError(f"crawl process did not finish within {timeout_s}s") from exc
        if not report_path.exists():
            raise CrawlError(f"crawl process exited with code {proc.returncode} without a report (see its log above)")
        result = json.loads(report_path.read_text(encoding="utf-8"))
    if "error" in result:
        raise CrawlError(result["error"])
    return CrawlReport.model_validate(result["report"])


def _run_job(job_path: Path, report_path: Path) -> int:
    from ingest.logs import configure_logging

    job = json.loads(job_path.read_text(encoding="utf-8"))
    settings = Settings(**job["settings"])
    configure_logging(settings.log_level, settings.log_json)
    # Rasd's logging owns the root handler; a second one from Scrapy would
    # print every line twice. Scrapy sets its own loggers to DEBUG, so the
    # level is enforced on the handler instead.
    for handler in logging.root.handlers:
        handler.setLevel(settings.log_level.upper())
    overrides = {"LOG_INSTALL_ROOT_HANDLER": False, **job.get("overrides", {})}
    sources = [Source.model_validate(s) for s in job["sources"]]
    try:
        report = crawl_in_this_process(settings, sources, **overrides)
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

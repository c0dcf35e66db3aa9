"""Scrapy settings for the Rasd crawler.

Module-level names are what ``scrapy list`` / ``scrapy crawl news`` load
(scrapy.cfg points here); the values that depend on Rasd's own settings are
filled from the environment (``RASD_*``) at the bottom. Code calls
``scrapy_settings(settings, **overrides)`` instead, which applies a given
``ingest.settings.Settings`` object.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from scrapy.settings import Settings as ScrapySettings

from ingest.settings import Settings, get_settings

BOT_NAME = "rasd"
SPIDER_MODULES = ["crawlers.spiders"]
NEWSPIDER_MODULE = "crawlers.spiders"

ROBOTSTXT_OBEY = True

# Politeness is PolitenessMiddleware's job alone (delay floor with robots.txt
# Crawl-delay, per-host concurrency, Retry-After, error backoff): Scrapy's slot
# delay would add a second, jittered clock and AutoThrottle lowers delays.
AUTOTHROTTLE_ENABLED = False
DOWNLOAD_DELAY = 0.0
# Requests waiting for a polite host must not keep other hosts waiting.
CONCURRENT_REQUESTS = 128
REDIRECT_MAX_TIMES = 5

RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 408, 429]
DOWNLOAD_TIMEOUT = 30

HTTPCACHE_ENABLED = False
# no consoles into a running crawl (both would open a listening port)
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
COOKIES_ENABLED = False

# Article requests are deduplicated by canonical URL, others as Scrapy does
DUPEFILTER_CLASS = "crawlers.dupefilter.CanonicalUrlDupeFilter"

ITEM_PIPELINES = {"crawlers.pipelines.KafkaPublishPipeline": 300}
EXTENSIONS = {
    # a body streaming past DOWNLOAD_MAXSIZE ends as too large, not as a bare cancel
    "crawlers.size_limit.BodySizeLimit": 0,
    # Prometheus /metrics, /healthz and /readyz of the crawl process (RASD_METRICS_PORT)
    "crawlers.metrics.CrawlMetrics": 500,
    # progress lines (pages fetched, queued, errors, rate) every LOGSTATS_INTERVAL
    "scrapy.extensions.logstats.LogStats": None,
    "crawlers.progress.CrawlProgress": 0,
}
# Scrapy's defaults (robots.txt, retry, redirect, compression...) plus the
# politeness gate, last before the download so it sees every retry and redirect
DOWNLOADER_MIDDLEWARES: dict[str, int] = {
    # refused addresses (SSRF) end first: no robots.txt, no wait at the gate
    "crawlers.middlewares.addresses.AddressGuardMiddleware": 50,
    # Scrapy's own, but re-read after a while (a crawl runs for months)
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawlers.middlewares.robots.ExpiringRobotsTxtMiddleware": 100,
    # after RedirectMiddleware (600) in the request order, so it sees redirects first
    "crawlers.middlewares.redirects.KnownRedirectTargetMiddleware": 610,
    "crawlers.middlewares.politeness.PolitenessMiddleware": 950,
}
# The resolver refuses private, loopback, link-local... answers, so the
# address checked is the address connected to (crawlers/resolver.py)
TWISTED_DNS_RESOLVER = "crawlers.resolver.GuardedResolver"
# Crawl-delay is read from Scrapy's parsed robots.txt (the robots_parsed signal)
ROBOTSTXT_PARSER = "scrapy.robotstxt.ProtegoRobotParser"

# How often the pipeline looks for failed Kafka sends (records, seconds), so
# broker errors close the crawl early; it never waits there (close does)
RASD_SEND_CHECK_EVERY_ITEMS = 200
RASD_SEND_CHECK_EVERY_S = 5.0

LOG_LEVEL = "INFO"
# the library versions table at every start is noise in a crawler's log
LOG_VERSIONS: list[str] = []
LOG_FORMATTER = "crawlers.logformatter.RecordLogFormatter"


def rasd_values(settings: Settings) -> dict[str, Any]:
    """The Scrapy settings that come from Rasd's settings. RASD_SETTINGS
    carries the object itself for the pipeline and the spider (topic names,
    message size limit)."""
    return {
        "RASD_SETTINGS": settings,
        "USER_AGENT": settings.user_agent_header,
        "ROBOTSTXT_OBEY": settings.crawl_obey_robots,
        "RASD_POLITENESS_DELAY": settings.crawl_download_delay_s,
        "RASD_ROBOTS_TTL_S": settings.crawl_robots_ttl_s,
        "RASD_ROBOTS_RETRY_S": settings.crawl_robots_retry_s,
        "CONCURRENT_REQUESTS_PER_DOMAIN": settings.crawl_concurrency_per_domain,
        "DOWNLOAD_TIMEOUT": settings.crawl_download_timeout_s,
        "REDIRECT_MAX_TIMES": settings.crawl_max_redirects,
        "DOWNLOAD_MAXSIZE": settings.crawl_max_page_bytes,
        "DOWNLOAD_WARNSIZE": settings.crawl_max_page_bytes // 2,
        "LOG_LEVEL": settings.log_level.upper(),
        "LOGSTATS_INTERVAL": settings.progress_interval_s,
    }


def download_slots(sources: Iterable[Any]) -> dict[str, dict[str, Any]]:
    """Scrapy's DOWNLOAD_SLOTS (one slot per host) for sources that set their
    own delay or concurrency. When two sources share a host, the politer
    value wins."""
    slots: dict[str, dict[str, Any]] = {}
    for source in sources:
        for host in source.allowed_domains:
            slot = slots.setdefault(host, {})
            if source.download_delay_s is not None:
                slot["delay"] = max(slot.get("delay", 0.0), source.download_delay_s)
            if source.concurrency is not None:
                slot["concurrency"] = min(slot.get("concurrency", source.concurrency), source.concurrency)
    return {host: slot for host, slot in slots.items() if slot}


def scrapy_settings(settings: Settings, **overrides: Any) -> ScrapySettings:
    """Scrapy settings for a crawl: this module, then ``settings``, then
    ``overrides`` (Scrapy setting names, e.g. ``CLOSESPIDER_TIMEOUT=60``)."""
    result = ScrapySettings()
    result.setmodule(__name__, priority="project")
    result.setdict(rasd_values(settings), priority="project")
    result.setdict(overrides, priority="cmdline")
    return result


# `scrapy crawl news` loads this module as-is: take Rasd's values from the environment
globals().update(rasd_values(get_settings()))


def continuous_overrides() -> dict[str, Any]:
    """Scrapy settings of the continuous crawl: the frontier decides what is
    fetched, so Scrapy keeps no memory of requests (a seen-set would grow
    for as long as the crawl runs)."""
    # a service: it logs per frontier round, not progress lines (a caller
    # that wants them, such as a benchmark, passes LOGSTATS_INTERVAL)
    return {"DUPEFILTER_CLASS": "scrapy.dupefilters.BaseDupeFilter", "LOGSTATS_INTERVAL": 0}

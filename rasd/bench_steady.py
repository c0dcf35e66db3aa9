"""Steady-mode pipeline benchmark (`rasd bench --steady`): the demo site
publishes new articles at a fixed rate, below the pipeline's capacity, for
several minutes while a continuous crawl, the ingest worker and the indexer
run at once; per article it measures the time from the site serving the
page to a search returning the document (p50, p95, max), and from its
publication to that (which adds the crawler's discovery: up to one feed poll
interval, then the frontier's rounds). Prints figures; asserts nothing about
speed."""
from __future__ import annotations

import math
import os
import tempfile
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from crawlers.run import CrawlReport, crawl
from crawlers.sources import Source
from deploy.demo_site.generate import generate_articles
from deploy.demo_site.server import FEED_PATH, DemoSite
from indexer.engines.detect import open_configured_engine
from ingest.identity import document_id
from ingest.progress import Progress, Snapshot
from ingest.settings import Settings
from rasd.bench import SearchablePoller, fresh_run
from rasd.bench_hops import first_record_times, hop_legs, hop_lines, indexed_times
from rasd.bench_runs import latency_summary, wait_until
from rasd.stage_process import StageProcess

# Our own site on loopback: polled every second, a real site far less often.
# The feed poll bounds the discovery delay, so it is reported beside the figures.
FEED_POLL_S = 1.0
# As real news feeds do, the feed carries only the newest entries; enough for
# several polls' worth of articles at the rates this benchmark uses.
FEED_LIMIT = 100
# Generated articles continue this seed: no URL of the burst runs repeats.
_SEED = 1


@dataclass
class SteadyResult:
    settings: Settings
    rate_per_s: float
    seconds: float
    feed_poll_s: float
    published: int
    searchable: int
    served_to_searchable_s: dict[str, float | None]
    published_to_searchable_s: dict[str, float | None]
    failures: list[str]
    crawl: CrawlReport | None
    # per leg of the pipeline (``rasd.bench_hops.LEGS``): latency summary
    legs: dict[str, dict[str, float | None]]


def _steady_settings(settings: Settings, engine_url: str, feed_poll_s: float, articles: int) -> Settings:
    return fresh_run(
        settings, f"steady{uuid.uuid4().hex[:6]}", articles,
        search_url=engine_url,
        crawl_concurrency_per_domain=8,
        # a fixed interval: min = max keeps the adaptive poll from drifting
        crawl_poll_interval_s=feed_poll_s, crawl_poll_min_s=feed_poll_s, crawl_poll_max_s=feed_poll_s,
        crawl_frontier_tick_s=0.2,
        # one host: a frontier round (about a second: its status writes wait
        # for the index refresh) must take every article due, not 8 of them
        crawl_queue_per_host=256,
    )


def steady(settings: Settings, engine_url: str, rate_per_s: float, seconds: float,
           feed_poll_s: float = FEED_POLL_S, drain_s: float = 60.0) -> SteadyResult:
    """Publish ``rate_per_s`` articles a second for ``seconds`` and measure
    each one's way to the search results. ``drain_s`` bounds the wait for
    the last articles after publishing ends."""
    count = max(1, math.ceil(rate_per_s * seconds))
    articles = generate_articles(count, seed=_SEED)
    s = _steady_settings(settings, engine_url, feed_poll_s, count)
    engine = open_configured_engine(s, engine_url)
    engine.ensure_index(s.articles_alias)
    failures: list[str] = []
    log_dir = tempfile.TemporaryDirectory(prefix="rasd-bench-steady-")
    # each stage its own process, as in production (threads of this
    # process would share one interpreter lock with the measuring)
    env = s.child_environment(os.environ)
    stages = [StageProcess(name, [name], env, Path(log_dir.name)) for name in ("ingest", "index")]

    def failed() -> bool:
        failures.extend(f for f in (stage.failure() for stage in stages) if f and f not in failures)
        return bool(failures)

    crawl_stop = threading.Event()
    crawled: list[CrawlReport] = []

    try:
        with DemoSite(articles=articles, faults=False, gradual=True, feed_limit=FEED_LIMIT) as site:
            ids = {urlsplit(url).path: document_id(url) for url in site.article_urls()}

            def run_crawl() -> None:
                sources = [Source(name="steady", feeds=[site.feed_url])]
                try:
                    crawled.append(crawl(s, sources, continuous=True, stop=crawl_stop, timeout_s=seconds + drain_s + 600))
                except Exception as exc:
                    failures.append(f"crawl: {exc!r}")

            crawler = threading.Thread(target=run_crawl, daemon=True)
            crawler.start()
            # the clock starts once the crawler polls: its start-up is not the pipeline's latency
            if not wait_until(lambda: FEED_PATH in site.served_at or failed(), 180):
                failures.append("the crawler did not poll the feed within 180 s")
            poller = SearchablePoller(engine_url, s.articles_alias, expected=count,
                                      wanted=lambda: [ids[p] for p in site.served_at if p in ids])
            poller.start()
            if not failures:
                with Progress("steady", lambda: Snapshot(len(poller.seen), count, {"published": site.published_count()}),
                              s.progress_interval_s, unit="searchable"):
                    site.publish_gradually(rate_per_s)
                    wait_until(lambda: site.published_count() >= count or failed(), seconds + 60, every_s=0.5)
                    wait_until(lambda: poller.done.is_set() or failed(), drain_s, every_s=0.5)
            served = site.served_at
            published_n = site.published_count()
            published = site.publication_times()
    finally:
        crawl_stop.set()
        for stage in stages:
            stage.stop()
    poller.done.set()
    crawl_stop.set()
    crawler.join(timeout=120)
    log_dir.cleanup()
    engine.close()
    served_at = {ids[path]: at for path, at in served.items() if path in ids}
    hops = {"served": served_at, "pages": first_record_times(s, s.topic_pages),
            "articles": first_record_times(s, s.topic_articles),
            "indexed": indexed_times(engine_url, s.articles_alias, served_at), "searchable": poller.seen}

    from_served, from_published = [], []
    for path, doc_id in ids.items():
        seen = poller.seen.get(doc_id)
        if seen is None:
            continue
        if path in served:
            from_served.append(seen - served[path])
        if path in published:
            from_published.append(seen - published[path])
    return SteadyResult(
        settings=s, rate_per_s=rate_per_s, seconds=seconds, feed_poll_s=feed_poll_s,
        published=published_n, searchable=len(poller.seen),
        served_to_searchable_s=latency_summary(from_served),
        published_to_searchable_s=latency_summary(from_published),
        failures=failures + poller.errors[:3], crawl=crawled[0] if crawled else None, legs=hop_legs(hops),
    )


def steady_lines(result: SteadyResult) -> list[str]:
    """The report of a steady run."""
    lines = [
        f"  steady: {result.rate_per_s:.1f} articles/s published for {result.seconds / 60:.1f} min, "
        f"feed polled every {result.feed_poll_s:g} s; {result.searchable}/{result.published} searchable",
    ]
    for name, lat in (("served -> searchable   ", result.served_to_searchable_s),
                      ("published -> searchable", result.published_to_searchable_s)):
        if lat["p50"] is not None:
            lines.append(f"    {name}: p50 {lat['p50']:.2f} s, p95 {lat['p95']:.2f} s, max {lat['max']:.2f} s")
    lines.extend(hop_lines(result.legs))
    if result.failures:
        lines.append(f"  FAILURES during the steady run: {result.failures}")
    return lines

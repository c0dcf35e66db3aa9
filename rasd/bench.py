"""Pipeline benchmark: a generated copy of the demo site (1,000 articles by
default) through crawl -> Kafka -> ingest -> Kafka -> index, on the local
stack. Prints figures; asserts nothing about speed (run on demand:
`make bench` or `.venv/bin/rasd bench --articles 1000`).

Two runs on fresh topics and indices:
1. stage by stage, each stage draining its input: pages/s per stage;
2. all stages at once (streaming): end-to-end pages/s and, per article, the
   time from the demo site serving the page to the document being returned
   by a search on the engine (p50, p95).
"""
from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

import urllib3

from crawlers.run import crawl
from crawlers.sources import Source
from deploy.demo_site.generate import generate_articles
from deploy.demo_site.server import DemoSite
from deploy.stack import manager
from indexer.engines.base import SearchEngine
from indexer.engines.detect import open_configured_engine
from indexer.worker import IndexerStats, run_indexer
from ingest.identity import document_id
from ingest.kafka_io import ensure_topics
from ingest.progress import Progress, Snapshot
from ingest.settings import Settings
from ingest.worker import IngestStats, run_ingest
from rasd.bench_runs import drop_run, latency_summary
from rasd.stage_progress import index_progress, ingest_progress


def fresh_run(settings: Settings, tag: str, articles: int, **update: object) -> Settings:
    """Settings of one run on fresh topics and indices (created here) for a
    generated demo site of ``articles`` pages."""
    # the generated site is served on 127.0.0.1, which the crawler refuses unless allowed
    s = settings.namespaced(tag).allowing("127.0.0.1/32").model_copy(update={
        "crawl_download_delay_s": 0.0,
        # The generated articles reuse the bundled ones' paragraphs verbatim,
        # which the site-boilerplate filter rightly strips once 4 pages share
        # them (most articles would end as too short): past the corpus size
        # every article keeps its text, and the filter's lookups still run.
        "boilerplate_min_pages": articles + 1,
        **update,
    })
    ensure_topics(s)
    return s


def stage_by_stage(settings: Settings, articles, engine_url: str) -> dict:
    s = fresh_run(settings, f"bench{uuid.uuid4().hex[:6]}", len(articles), search_url=engine_url)
    with DemoSite(articles=articles, faults=False) as site:
        sources = [Source(name="bench", feeds=[site.feed_url], sitemaps=[site.sitemap_url])]
        t0 = time.monotonic()
        report = crawl(s, sources, CONCURRENT_REQUESTS=32, CONCURRENT_REQUESTS_PER_DOMAIN=16,
                       AUTOTHROTTLE_ENABLED=False)
        t_crawl = time.monotonic() - t0
    ingest_stats = IngestStats()
    with ingest_progress(s, ingest_stats, report.pages_published):
        t0 = time.monotonic()
        run_ingest(s, until_end=True, stats=ingest_stats)
        t_ingest = time.monotonic() - t0
    engine = open_configured_engine(s, engine_url)
    try:
        engine.ensure_index(s.articles_alias)  # outside the timing: a one-off
        index_stats = IndexerStats()
        with index_progress(s, index_stats, ingest_stats.articles, engine.distribution):
            t0 = time.monotonic()
            run_indexer(s, engine, until_end=True, stats=index_stats)
            t_index = time.monotonic() - t0
        engine.refresh(s.articles_alias)
        count = engine.count(s.articles_alias)
    finally:
        engine.close()
    n = report.pages_published
    return {
        "settings": s,
        "pages_fetched": n,
        "articles": ingest_stats.articles,
        "documents_in_index": count,
        "crawl_pages_per_s": n / t_crawl,
        "ingest_pages_per_s": ingest_stats.pages / t_ingest,
        "index_docs_per_s": index_stats.indexed / t_index,
        "seconds": {"crawl": t_crawl, "ingest": t_ingest, "index": t_index},
    }


class SearchablePoller(threading.Thread):
    """Records when each document id first comes back from a search.

    With ``wanted`` (the ids worth asking about now, e.g. those of the pages
    served so far) it searches only for those not seen yet: a long run's
    index would otherwise be read whole ten times a second."""

    def __init__(self, engine_url: str, alias: str, expected: int,
                 wanted: Callable[[], Iterable[str]] | None = None) -> None:
        super().__init__(daemon=True)
        self.http = urllib3.PoolManager()
        self.url = f"{engine_url.rstrip('/')}/{alias}/_search"
        self.expected = expected
        self.wanted = wanted
        self.seen: dict[str, float] = {}
        self.errors: list[str] = []
        self.done = threading.Event()

    def _body(self) -> str | None:
        if self.wanted is None:
            return json.dumps({"query": {"match_all": {}}, "_source": False, "size": 10_000})
        pending = [doc_id for doc_id in self.wanted() if doc_id not in self.seen][:10_000]
        if not pending:
            return None
        return json.dumps({"query": {"ids": {"values": pending}}, "_source": False, "size": len(pending)})

    def run(self) -> None:
        while not self.done.is_set():
            body = self._body()
            if body is None:
                time.sleep(0.1)
                continue
            try:
                resp = self.http.request("POST", self.url, body=body, headers={"Content-Type": "application/json"})
            except urllib3.exceptions.HTTPError as exc:  # a slow engine must not end the measurement
                self.errors.append(repr(exc))
                time.sleep(0.5)
                continue
            now = time.time()
            if resp.status == 200:
                for hit in json.loads(resp.data)["hits"]["hits"]:
                    self.seen.setdefault(hit["_id"], now)
            if len(self.seen) >= self.expected:
                self.done.set()
            time.sleep(0.1)


def start_stages(s: Settings, engine: SearchEngine, stop: threading.Event, failures: list[str]) -> list[threading.Thread]:
    """The ingest worker and the indexer in threads of this process, until ``stop``."""
    def guarded(fn, *args, **kwargs):  # a dead worker thread must show in the figures
        try:
            fn(*args, **kwargs)
        except Exception as exc:
            failures.append(f"{fn.__name__}: {exc!r}")

    workers = [
        threading.Thread(target=guarded, args=(run_ingest, s), kwargs={"stop": stop}, daemon=True),
        threading.Thread(target=guarded, args=(run_indexer, s, engine), kwargs={"stop": stop}, daemon=True),
    ]
    for w in workers:
        w.start()
    return workers


def streaming(settings: Settings, articles, engine_url: str, timeout_s: float) -> dict:
    s = fresh_run(settings, f"bench{uuid.uuid4().hex[:6]}", len(articles), search_url=engine_url)
    engine = open_configured_engine(s, engine_url)
    engine.ensure_index(s.articles_alias)
    stop = threading.Event()
    failures: list[str] = []
    workers = start_stages(s, engine, stop, failures)
    poller = SearchablePoller(engine_url, s.articles_alias, expected=len(articles))
    poller.start()
    with DemoSite(articles=articles, faults=False) as site:
        urls = site.article_urls()
        sources = [Source(name="bench", feeds=[site.feed_url], sitemaps=[site.sitemap_url])]
        # the crawl child logs its own lines; these follow the articles through to the index
        with Progress("streaming", lambda: Snapshot(len(poller.seen), len(articles)), s.progress_interval_s,
                      unit="searchable"):
            t0 = time.time()
            crawl(s, sources, CONCURRENT_REQUESTS=32, CONCURRENT_REQUESTS_PER_DOMAIN=16, AUTOTHROTTLE_ENABLED=False)
            deadline = time.monotonic() + timeout_s
            while not poller.done.wait(timeout=1.0) and time.monotonic() < deadline:
                if failures:
                    break
        t_end = max(poller.seen.values()) if poller.seen else time.time()
        served = dict(site.served_at)
    stop.set()
    poller.done.set()
    for w in workers:
        w.join(timeout=30)
    engine.close()
    latencies = []
    for url in urls:
        seen = poller.seen.get(document_id(url))
        path = urlsplit(url).path
        served_t = served.get(path, served.get(url))
        if seen is not None and served_t is not None:
            latencies.append(seen - served_t)
    return {
        "settings": s,
        "failures": failures + poller.errors[:3],
        "searchable": len(poller.seen),
        "expected": len(urls),
        "end_to_end_pages_per_s": len(poller.seen) / (t_end - t0),
        "served_to_searchable_s": latency_summary(latencies),
    }


def run_benchmark(settings: Settings, articles: int, engine: str, timeout_s: float,
                  steady_rate: float | None = None, steady_minutes: float | None = None) -> str:
    """Both runs on a generated site of ``articles`` pages; returns the report text.
    With ``steady_minutes``, a steady run follows them (``rasd.bench_steady``) at
    ``steady_rate`` articles/s, by default half the streaming run's rate."""
    print("starting the local stack ...", flush=True)
    endpoints = manager.up(settings)
    settings = settings.model_copy(update={"kafka_bootstrap_servers": endpoints["kafka"]})
    engine_url = endpoints[engine]
    t0 = time.monotonic()
    generated = generate_articles(articles)
    print(f"generated {len(generated)} articles in {time.monotonic() - t0:.2f} s", flush=True)

    print("run 1: stage by stage ...", flush=True)
    one = stage_by_stage(settings, generated, engine_url)
    drop_run(one["settings"])
    print("run 2: all stages at once ...", flush=True)
    two = streaming(settings, generated, engine_url, timeout_s)
    drop_run(two["settings"])

    lat = two["served_to_searchable_s"]
    lines = [
        f"Rasd pipeline benchmark: {articles} articles, engine {engine}, {os.cpu_count()} cores",
        f"  crawl   {one['crawl_pages_per_s']:8.1f} pages/s   ({one['pages_fetched']} pages in {one['seconds']['crawl']:.1f} s)",
        f"  ingest  {one['ingest_pages_per_s']:8.1f} pages/s   ({one['articles']} articles in {one['seconds']['ingest']:.1f} s)",
        f"  index   {one['index_docs_per_s']:8.1f} docs/s    ({one['documents_in_index']} documents in {one['seconds']['index']:.1f} s)",
    ]
    slowest = min(("crawl", one["crawl_pages_per_s"]), ("ingest", one["ingest_pages_per_s"]),
                  ("index", one["index_docs_per_s"]), key=lambda kv: kv[1])
    lines.append(
        f"  end to end, all stages at once: {two['end_to_end_pages_per_s']:.1f} pages/s "
        f"({two['searchable']}/{two['expected']} searchable); "
        f"ratio to the slowest stage ({slowest[0]}): {two['end_to_end_pages_per_s'] / slowest[1]:.2f}"
    )
    if lat["p50"] is not None:
        lines.append(f"  served -> searchable: p50 {lat['p50']:.2f} s, p95 {lat['p95']:.2f} s, max {lat['max']:.2f} s")
    if two["failures"]:
        lines.append(f"  FAILURES during the streaming run: {two['failures']}")
    if steady_minutes is not None:
        from rasd.bench_steady import steady, steady_lines

        rate = steady_rate or two["end_to_end_pages_per_s"] / 2
        print(f"run 3: steady, {rate:.1f} articles/s for {steady_minutes:g} min ...", flush=True)
        three = steady(settings, engine_url, rate, steady_minutes * 60)
        drop_run(three.settings)
        lines.extend(steady_lines(three))
    return "\n".join(lines)

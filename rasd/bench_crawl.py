"""Crawl benchmark: the continuous crawler on a generated universe of news
sites (20 hosts, 10,000 articles by default), each site on its own loopback
address, on the local stack. Prints figures; asserts nothing about speed
(run on demand: `make bench-crawl` or `.venv/bin/rasd bench-crawl --hosts 4
--articles 1000`).

Three measurements in one run, on the same machine:
1. one continuous crawler until every article has been requested once:
   pages/s (from crawler start, and from the first article on), the
   crawler process's CPU, and its memory (peak RSS, mean RSS per quarter of
   the articles fetched, growth from the first quarter to the last);
2. `scrapy bench` (Scrapy's own local benchmark, plain Scrapy settings):
   the ceiling the crawler is compared with;
3. two continuous crawlers at once on a fresh namespace: pages/s of the pair
   against the single crawler, CPU of each, how the articles split between
   them and how many article URLs were requested more than once.

Which crawler sent a request comes from the ``X-Rasd-Crawler`` header the
universe records (``Hit.client``). The universe's HTTP servers run in this
process, so on a small machine they compete with the crawlers for CPU.
"""
from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import psutil

from crawlers.run import crawl
from crawlers.sources import Source
from deploy.stack import manager
from deploy.universe import CRAWLER_HEADER, Universe, generated_universe
from ingest.kafka_io import ensure_topics
from ingest.progress import Progress, Snapshot
from ingest.settings import Settings
from rasd.bench_runs import drop_run

POLL_S = 0.5
# Scrapy's own default headers, plus the tag that attributes each request
BASE_HEADERS = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "Accept-Language": "en"}
SCRAPY_BENCH_S = 20
STOP_JOIN_S = 90.0
# a crawl with no new article for this long is stopped and reported as stalled
STALL_S = 120.0


def _fresh(settings: Settings, tag: str) -> Settings:
    """Fresh topics, groups and status index; the benchmark's own loopback
    hosts (127.0.0.N) allowed and without politeness delay."""
    s = settings.namespaced(tag).allowing("127.0.0.0/8").model_copy(update={
        "crawl_download_delay_s": 0.0,
        "crawl_concurrency_per_domain": 8,
        "crawl_queue_per_host": 32,
        "crawl_frontier_tick_s": 0.2,
        "log_level": "WARNING",
    })
    ensure_topics(s)
    return s


def _key(host: str, path: str) -> tuple[str, str]:
    return host, path


def _url_key(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return _key(parts.netloc, parts.path)


@dataclass
class _Proc:
    """One crawler child process, sampled every POLL_S."""

    label: str
    process: psutil.Process
    rss: list[tuple[int, int]] = field(default_factory=list)  # (articles fetched so far, bytes)
    cpu_first: tuple[float, float] | None = None  # (wall time, user+system seconds)
    cpu_last: tuple[float, float] | None = None

    def sample(self, fetched: int) -> None:
        try:
            with self.process.oneshot():
                rss = self.process.memory_info().rss
                times = self.process.cpu_times()
        except psutil.Error:
            return
        now = time.monotonic()
        cpu = times.user + times.system
        self.rss.append((fetched, rss))
        if self.cpu_first is None:
            self.cpu_first = (now, cpu)
        self.cpu_last = (now, cpu)

    @property
    def cpu_pct(self) -> float | None:
        if self.cpu_first is None or self.cpu_last is None or self.cpu_last[0] <= self.cpu_first[0]:
            return None
        return 100 * (self.cpu_last[1] - self.cpu_first[1]) / (self.cpu_last[0] - self.cpu_first[0])

    @property
    def peak_rss(self) -> int | None:
        return max((r for _, r in self.rss), default=None)


def _crawler_label(process: psutil.Process) -> str:
    """The X-Rasd-Crawler value in the job file of a ``crawlers.run`` child."""
    try:
        cmdline = process.cmdline()
        job = json.loads(open(cmdline[cmdline.index("--job") + 1], encoding="utf-8").read())
        return job["overrides"]["DEFAULT_REQUEST_HEADERS"][CRAWLER_HEADER]
    except (psutil.Error, ValueError, IndexError, KeyError, OSError):
        return f"pid {process.pid}"


def _crawler_children(known: dict[int, _Proc]) -> None:
    for child in psutil.Process().children(recursive=True):
        if child.pid in known:
            continue
        try:
            if "crawlers.run" not in " ".join(child.cmdline()):
                continue
        except psutil.Error:
            continue
        known[child.pid] = _Proc(_crawler_label(child), child)


def crawl_until_fetched(settings: Settings, universe: Universe, labels: list[str], timeout_s: float) -> dict:
    """Continuous crawlers (one per label) until every expected article was
    requested at least once, then stop them; what the universe saw."""
    expected = {_url_key(u) for u in universe.expected_article_urls()}
    sources = [Source.model_validate(s) for s in universe.sources()]
    stops = {label: threading.Event() for label in labels}
    failures: list[str] = []
    reports: dict[str, Any] = {}

    def run(label: str) -> None:
        try:
            reports[label] = crawl(settings, sources, continuous=True, stop=stops[label],
                                   DEFAULT_REQUEST_HEADERS={**BASE_HEADERS, CRAWLER_HEADER: label})
        except Exception as exc:  # a dead crawler must show in the figures
            failures.append(f"{label}: {exc!r}")

    threads = [threading.Thread(target=run, args=(label,), name=f"bench-crawl-{label}", daemon=True) for label in labels]
    procs: dict[int, _Proc] = {}
    first_hit: dict[tuple[str, str], Any] = {}
    scanned = 0
    load_start = os.getloadavg()
    me = psutil.Process()
    own_cpu = me.cpu_times()
    t0 = time.time()
    deadline = time.monotonic() + timeout_s
    outcome = "interrupted"
    progress = Progress("bench_crawl", lambda: Snapshot(len(first_hit), len(expected), {"crawlers": len(labels)}),
                        settings.progress_interval_s, unit="articles")
    try:
        for t in threads:
            t.start()
        progress.start()
        next_tick = last_new = time.monotonic()
        while True:
            hits = universe.hits
            before = len(first_hit)
            for h in hits[scanned:]:
                k = _key(h.host, h.path)
                if k in expected:
                    first_hit.setdefault(k, h)
            scanned = len(hits)
            if len(first_hit) > before:
                last_new = time.monotonic()
            _crawler_children(procs)
            for p in procs.values():
                p.sample(len(first_hit))
            if len(first_hit) >= len(expected):
                outcome = "complete"
                break
            if not all(t.is_alive() for t in threads):
                outcome = "a crawler ended early"
                break
            if time.monotonic() >= deadline:
                outcome = f"timeout after {timeout_s:.0f} s"
                break
            if time.monotonic() - last_new >= STALL_S:
                outcome = f"stalled: no new article for {STALL_S:.0f} s"
                break
            next_tick += POLL_S
            time.sleep(max(0.0, next_tick - time.monotonic()))
        load_end = os.getloadavg()
        own_cpu_after = me.cpu_times()
        wall = time.time() - t0
    finally:
        progress.stop()
        for e in stops.values():
            e.set()
        for t in threads:
            if t.ident is not None:
                t.join(timeout=STOP_JOIN_S)
    # every request of the run, up to the crawlers' stop: duplicates and the split
    per_url: Counter[tuple[str, str]] = Counter()
    by_client: dict[str, set[tuple[str, str]]] = {}
    statuses: Counter[int] = Counter()
    serve_s: list[float] = []
    requests: Counter[str] = Counter()
    other = 0
    for h in universe.hits:
        requests[h.client or "?"] += 1
        k = _key(h.host, h.path)
        if k in expected:
            per_url[k] += 1
            serve_s.append(h.finished - h.started)
            by_client.setdefault(h.client or "?", set()).add(k)
            statuses[h.status] += 1
        else:
            other += 1
    firsts = list(first_hit.values())
    t_first = min((h.started for h in firsts), default=None)
    t_last = max((h.finished for h in firsts), default=None)
    n = len(firsts)
    return {
        "outcome": outcome,
        "failures": failures + [f"{label}: still running after stop" for label, t in zip(labels, threads) if t.is_alive()],
        "reports": reports,
        "expected": len(expected),
        "fetched": n,
        "startup_s": (t_first - t0) if t_first else None,
        "total_s": (t_last - t0) if t_last else None,
        "pages_per_s": n / (t_last - t0) if t_last and t_last > t0 else 0.0,
        "pages_per_s_after_start": n / (t_last - t_first) if t_first and t_last and t_last > t_first else 0.0,
        "duplicate_urls": sum(1 for c in per_url.values() if c > 1),
        "duplicate_requests": sum(c - 1 for c in per_url.values() if c > 1),
        "article_statuses": dict(statuses),
        "other_requests": other,
        "split": {client: len(urls) for client, urls in sorted(by_client.items())},
        "requests": dict(sorted(requests.items())),
        "procs": {p.label: p for p in procs.values()},
        "load": (load_start, load_end),
        # this process serves the universe: its CPU and time per article request
        "universe_cpu_pct": 100 * (own_cpu_after.user + own_cpu_after.system - own_cpu.user - own_cpu.system) / wall,
        "serve_ms": 1000 * statistics.fmean(serve_s) if serve_s else None,
    }


def _memory(proc: _Proc, expected: int) -> dict:
    """Peak RSS and mean RSS per quarter of the articles fetched, counting
    samples from the first article on (start-up is imports, not the crawl)."""
    quarters: list[list[int]] = [[], [], [], []]
    for fetched, rss in proc.rss:
        if fetched > 0:
            quarters[min(3, fetched * 4 // max(expected, 1))].append(rss)
    means = [statistics.fmean(q) if q else None for q in quarters]
    growth = (means[3] - means[0]) / means[0] if means[0] and means[3] else None
    return {"peak": proc.peak_rss, "quarters": means, "samples": [len(q) for q in quarters], "growth": growth}


_LOGSTATS = re.compile(r"Crawled (\d+) pages \(at (\d+) pages/min\)")


def scrapy_bench(seconds: int = SCRAPY_BENCH_S) -> dict:
    """`scrapy bench` with plain Scrapy settings (outside the project: the
    project's settings would add the politeness delay and Kafka)."""
    env = {k: v for k, v in os.environ.items() if k != "SCRAPY_SETTINGS_MODULE"}
    cmd = [sys.executable, "-m", "scrapy", "bench", "-s", "LOG_LEVEL=INFO", "-s", f"CLOSESPIDER_TIMEOUT={seconds}",
           "-s", "TELNETCONSOLE_ENABLED=False"]
    with tempfile.TemporaryDirectory(prefix="rasd-scrapy-bench-") as tmp:
        try:
            proc = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True, timeout=seconds + 120)
        except subprocess.TimeoutExpired:
            return {"error": "scrapy bench did not finish"}
    out = proc.stdout + proc.stderr
    rates = [int(m.group(2)) / 60 for m in _LOGSTATS.finditer(out)]
    received = re.search(r"'response_received_count': (\d+)", out)
    elapsed = re.search(r"'elapsed_time_seconds': ([\d.]+)", out)
    if not received or not elapsed:
        return {"error": f"scrapy bench exited {proc.returncode}: {out.strip().splitlines()[-1:]}"}
    pages, secs = int(received.group(1)), float(elapsed.group(1))
    # the first line is at 0 pages, and the last one covers a partial interval
    steady = [r for r in rates[1:-1] if r > 0]
    return {
        "pages": pages,
        "seconds": secs,
        "pages_per_s": pages / secs,
        "steady_pages_per_s": statistics.median(steady) if steady else pages / secs,
        "last_line_pages_per_s": rates[-1] if rates else None,
    }


def _mb(n: float | None) -> str:
    return "-" if n is None else f"{n / 1e6:.0f}"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.0f}%"


def _s(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f} s"


def _load(load: tuple) -> str:
    start, end = load
    return f"{start[0]:.2f}" + (f" -> {end[0]:.2f}" if end else "")


INDENT = " " * 16


def _run_lines(name: str, run: dict) -> list[str]:
    lines = [
        f"  {name:<13}{run['pages_per_s']:7.1f} pages/s from crawler start, {run['pages_per_s_after_start']:.1f} from "
        f"the first article ({run['fetched']}/{run['expected']} articles in {_s(run['total_s'])}, "
        f"start-up {_s(run['startup_s'])})",
        f"{INDENT}duplicates {run['duplicate_urls']} article URLs ({run['duplicate_requests']} extra requests; "
        f"must be 0); article statuses {run['article_statuses']}, {run['other_requests']} other requests",
        f"{INDENT}universe (this process) CPU {_pct(run['universe_cpu_pct'])} of a core, "
        f"{run['serve_ms'] or 0:.1f} ms per article; load (1 min) {_load(run['load'])}",
        f"{INDENT}requests by crawler {run['requests'] or '{}'}; crawler reports: "
        + ("; ".join(f"{label} {r.finish_reason}, {r.requests} requests, {r.pages_published} pages published, "
                     f"{r.publish_errors} publish errors" for label, r in sorted(run["reports"].items())) or "none"),
    ]
    if run["outcome"] != "complete":
        lines.append(f"{INDENT}INCOMPLETE: {run['outcome']}")
    if run["failures"]:
        lines.append(f"{INDENT}FAILURES: {run['failures']}")
    return lines


def run_crawl_benchmark(settings: Settings, hosts: int, articles: int, engine: str, timeout_s: float) -> str:
    """The three measurements; returns the report text."""
    print("starting the local stack ...", flush=True)
    endpoints = manager.up(settings, ("kafka", engine))
    base = settings.model_copy(update={"kafka_bootstrap_servers": endpoints["kafka"], "search_url": endpoints[engine]})
    t0 = time.monotonic()
    universe = generated_universe(hosts, articles)
    print(f"generated {hosts} sites, {articles} articles in {time.monotonic() - t0:.2f} s", flush=True)
    namespaces: list[Settings] = []
    try:
        universe.start()
        s1 = _fresh(base, f"benchcrawl{uuid.uuid4().hex[:6]}")
        namespaces.append(s1)
        print("run 1: one continuous crawler ...", flush=True)
        one = crawl_until_fetched(s1, universe, ["p1"], timeout_s)
        print("run 2: scrapy bench ...", flush=True)
        ceiling = scrapy_bench()
        universe.clear_hits()
        s2 = _fresh(base, f"benchcrawl{uuid.uuid4().hex[:6]}")
        namespaces.append(s2)
        print("run 3: two continuous crawlers ...", flush=True)
        two = crawl_until_fetched(s2, universe, ["p1", "p2"], timeout_s)
    finally:
        universe.stop()
        for s in namespaces:
            drop_run(s)

    lines = [f"Rasd crawl benchmark: {hosts} hosts, {articles} articles, engine {engine}, {os.cpu_count()} cores"]
    lines += _run_lines("one crawler", one)
    p1 = one["procs"].get("p1")
    if p1 is not None:
        mem = _memory(p1, one["expected"])
        quarters = " / ".join(_mb(q) for q in mem["quarters"])
        growth = "-" if mem["growth"] is None else f"{mem['growth'] * 100:+.1f}%"
        lines.append(f"{INDENT}crawler CPU {_pct(p1.cpu_pct)} of a core; RSS peak {_mb(mem['peak'])} MB, mean by "
                     f"quarter of articles fetched {quarters} MB ({'/'.join(map(str, mem['samples']))} samples)")
        lines.append(f"{INDENT}memory growth Q1->Q4 {growth} (target: flat, < 10%)")
    else:
        lines.append(f"{INDENT}crawler process not found: no CPU or memory figures")
    if "error" in ceiling:
        lines.append(f"  scrapy bench  FAILED: {ceiling['error']}")
    else:
        ratio = one["pages_per_s_after_start"] / ceiling["steady_pages_per_s"] if ceiling["steady_pages_per_s"] else 0.0
        ratio_all = one["pages_per_s"] / ceiling["pages_per_s"] if ceiling["pages_per_s"] else 0.0
        lines.append(f"  scrapy bench {ceiling['steady_pages_per_s']:7.1f} pages/s steady (median per-second rate), "
                     f"{ceiling['pages_per_s']:.1f} overall ({ceiling['pages']} pages in {ceiling['seconds']:.1f} s)")
        lines.append(f"{INDENT}rasd / scrapy bench {ratio:.2f}x steady (from the first article), "
                     f"{ratio_all:.2f}x overall (target >= 0.5x)")
    lines += _run_lines("two crawlers", two)
    scale = two["pages_per_s"] / one["pages_per_s"] if one["pages_per_s"] else 0.0
    scale_after = two["pages_per_s_after_start"] / one["pages_per_s_after_start"] if one["pages_per_s_after_start"] else 0.0
    per = "; ".join(
        f"{label}: {two['split'].get(label, 0)} articles, CPU {_pct(p.cpu_pct)} of a core, RSS peak {_mb(p.peak_rss)} MB"
        for label, p in sorted(two["procs"].items())
    )
    lines.append(f"{INDENT}{per}")
    unattributed = {c: n for c, n in two["split"].items() if c not in two["procs"]}
    if unattributed:
        lines.append(f"{INDENT}articles by other clients: {unattributed}")
    lines.append(f"{INDENT}pair / one crawler {scale:.2f}x from crawler start, {scale_after:.2f}x from the first "
                 f"article (target >= 1.6x while a core is free; {os.cpu_count()} cores)")
    return "\n".join(lines)

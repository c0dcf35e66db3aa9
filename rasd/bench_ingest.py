"""Ingest benchmark (`rasd bench-ingest`, `make bench-ingest`): the whole
ingest stage (Kafka in and out, decoding, extraction, metadata, site
boilerplate, story clusters, extraction log) in pages/s, beside bare
``trafilatura.extract`` on the same pages in the same run, on the local
stack. Prints figures, asserts nothing.

Corpora: the evaluation set (44 pages, served 10 times under distinct URLs)
and generated pages of the fixture universe (2,000 by default).
Runs, each on a fresh topic (3 partitions) and fresh stores:
1. bare trafilatura over the pages, in this process (the ceiling);
2. one ingest worker process over the topic, until it is drained;
3. two ingest worker processes in one consumer group over the same pages.
Worker processes import and warm up before the clock starts; the time is
from the start signal to the last worker's end (group joins included), and
"steady" from the first batch's start to the last batch's end (start-up
left out, as it is for bare trafilatura)."""
from __future__ import annotations

import multiprocessing as mp
import os
import time
import uuid
from dataclasses import dataclass
from typing import Any

from kafka import KafkaProducer

from deploy.stack import manager
from ingest.kafka_connection import kafka_client_kwargs
from ingest.kafka_io import encode, ensure_topics
from ingest.models import FetchedPage, compress, utcnow
from ingest.settings import Settings
from rasd.bench_extract import Page, eval_pages, generated_pages, trafilatura_extractor
from rasd.bench_runs import drop_run

EVAL_COPIES = 10


@dataclass
class Corpus:
    name: str
    pages: list[Page]


def _fetched(body: bytes, url: str, source: str) -> FetchedPage:
    return FetchedPage(url=url, final_url=url, status=200, headers={"content-type": "text/html"},
                       fetched_at=utcnow(), source=source, body_zstd=compress(body))


def page_messages(corpus: Corpus) -> list[bytes]:
    out = []
    for body, page in corpus.pages:
        out.append(encode(_fetched(body, page.url, page.source or "bench")))
    return out


def produce_pages(settings: Settings, values: list[bytes]) -> None:
    producer = KafkaProducer(**kafka_client_kwargs(settings), linger_ms=20,
                             max_request_size=settings.kafka_max_message_bytes + 65_536)
    for value in values:
        producer.send(settings.topic_pages, value=value)
    producer.flush()
    producer.close()


def _worker(settings: Settings, ready: Any, go: Any, results: Any) -> None:
    # logging as `rasd ingest` sets it up (a spawned process starts without:
    # every debug line would then be rendered)
    from ingest.logs import configure_logging

    configure_logging(settings.log_level, settings.log_json)
    # everything heavy is imported and warmed before the clock starts
    from ingest.language import detect_language
    from ingest.worker import IngestStats, run_ingest
    from rasd.bench_extract import eval_pages as warm_pages
    from rasd.stage_progress import ingest_progress
    from rasd.bench_extract import rasd_extractor

    body, page = warm_pages()[0]
    rasd_extractor(settings.min_article_chars)(body, page)
    # the language model loads on the first text in a Latin script
    detect_language("The council met on Tuesday to discuss the budget for the coming year and the new schools.")
    ready.set()
    go.wait()
    started, cpu = time.time(), time.process_time()
    stats = IngestStats()
    try:
        # each worker counts its own pages: the group shares them out as it likes
        with ingest_progress(settings, stats, None):
            run_ingest(settings, until_end=True, stats=stats)
    except BaseException as exc:
        # the parent would otherwise wait for this result until its timeout
        results.put(repr(exc))
        raise
    results.put((started, time.time(), stats.pages, stats.articles, time.process_time() - cpu,
                 stats.first_batch_at, stats.last_batch_end))


def _busy_cores() -> tuple[float, float]:
    """(busy, total) CPU time of the whole machine so far, in seconds
    (/proc/stat), to tell how much of the cores a run had."""
    with open("/proc/stat", encoding="ascii") as stat:
        fields = [float(v) for v in stat.readline().split()[1:]]
    tick = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + fields[4]  # idle + iowait
    total = sum(fields[:8])
    return (total - idle) / tick, total / tick


@dataclass
class WorkersRun:
    seconds: float
    pages: int
    articles: int
    # CPU seconds the worker processes spent, in all
    worker_cpu_s: float
    # share of the machine's cores busy during the run (every process)
    machine_busy: float
    # from the first batch's start to the last batch's end, any worker
    # (time.monotonic is one clock for every process of the machine)
    steady_s: float


def _run_workers(settings: Settings, count: int) -> WorkersRun:
    """From the start signal to the last worker's end."""
    ctx = mp.get_context("spawn")
    go = ctx.Event()
    results = ctx.Queue()
    readies = [ctx.Event() for _ in range(count)]
    procs = [ctx.Process(target=_worker, args=(settings, r, go, results)) for r in readies]
    for p in procs:
        p.start()
    for r in readies:
        r.wait(timeout=120)
    busy0, total0 = _busy_cores()
    t0 = time.time()
    go.set()
    done = [results.get(timeout=1800) for _ in procs]
    busy1, total1 = _busy_cores()
    failures = [d for d in done if isinstance(d, str)]
    if failures:
        for p in procs:
            p.terminate()
        raise RuntimeError(f"{len(failures)} of {count} ingest workers failed, first: {failures[0]}")
    for p in procs:
        p.join(timeout=60)
    return WorkersRun(seconds=max(d[1] for d in done) - t0, pages=sum(d[2] for d in done),
                      articles=sum(d[3] for d in done), worker_cpu_s=sum(d[4] for d in done),
                      steady_s=max(d[6] for d in done if d[6] is not None) - min(d[5] for d in done if d[5] is not None),
                      machine_busy=(busy1 - busy0) / max(total1 - total0, 1e-9))


def _bare_trafilatura(corpus: Corpus) -> float:
    started = time.perf_counter()
    for body, page in corpus.pages:
        trafilatura_extractor(body, page)
    return len(corpus.pages) / (time.perf_counter() - started)


def _fresh(base: Settings) -> Settings:
    s = base.namespaced(f"bi{uuid.uuid4().hex[:6]}")
    ensure_topics(s)
    return s


def _ingest_run(base: Settings, messages: list[bytes], workers: int) -> WorkersRun:
    s = _fresh(base)
    try:
        produce_pages(s, messages)
        return _run_workers(s, workers)
    finally:
        drop_run(s)


def _rate(run: WorkersRun) -> float:
    return run.pages / run.seconds


def _steady_rate(run: WorkersRun) -> float:
    return run.pages / run.steady_s


def run_benchmark(generated: int = 2000) -> str:
    print("starting the local stack ...", flush=True)
    settings = Settings()
    endpoints = manager.up(settings, ("kafka", "opensearch"))
    base = settings.model_copy(update={"kafka_bootstrap_servers": endpoints["kafka"], "search_url": endpoints["opensearch"]})
    eval_copies = [
        (body, type(page)(page.url + f"?copy={i}", page.source, page.fetched_at))
        for i in range(EVAL_COPIES) for body, page in eval_pages()
    ]
    corpora = [Corpus(f"evaluation set x{EVAL_COPIES}", eval_copies), Corpus("generated", generated_pages(generated))]
    cores = os.cpu_count() or 1
    lines = [f"Rasd ingest benchmark: one ingest process vs bare trafilatura.extract, {cores} cores "
             f"(Kafka and the search engine run on the same machine)"]
    two: WorkersRun | None = None
    one_generated: WorkersRun | None = None
    for corpus in corpora:
        print(f"{corpus.name}: {len(corpus.pages)} pages ...", flush=True)
        messages = page_messages(corpus)
        # before and after the worker: this machine's speed drifts by a
        # quarter over minutes, and one side of the ratio must not catch a
        # fast minute alone
        bare_before = _bare_trafilatura(corpus)
        one = _ingest_run(base, messages, 1)
        bare_after = _bare_trafilatura(corpus)
        bare = (bare_before + bare_after) / 2
        lines.append(
            f"  {corpus.name:22s} bare trafilatura {bare:6.1f} pages/s ({bare_before:.1f} before the worker, "
            f"{bare_after:.1f} after)"
        )
        lines.append(
            f"  {'':22s} rasd ingest (1 worker) {_rate(one):6.1f} pages/s from the start signal"
            f" ({_rate(one) / bare:4.2f}x; {one.articles} articles of {one.pages} pages)"
        )
        lines.append(
            f"  {'':22s} steady (first batch to last, start-up left out): {_steady_rate(one):6.1f} pages/s"
            f" = {_steady_rate(one) / bare:4.2f}x bare trafilatura"
        )
        lines.append(
            f"  {'':22s} CPU per page: bare trafilatura {1000 / bare:5.2f} ms, ingest worker {1000 * one.worker_cpu_s / one.pages:5.2f} ms"
            f" (all its threads; wall time per page {1000 * one.seconds / one.pages:5.2f} ms from the start signal,"
            f" {1000 * one.steady_s / one.pages:5.2f} ms steady)"
        )
        if corpus.name == "generated":
            one_generated = one
            print("two workers ...", flush=True)
            two = _ingest_run(base, messages, 2)
    if two is not None and one_generated is not None:
        one_cores = one_generated.worker_cpu_s / one_generated.seconds
        spare = (1 - one_generated.machine_busy) * cores
        lines.append(
            f"  two ingest workers, one group, 3 partitions: {_rate(two):6.1f} pages/s = "
            f"{_rate(two) / _rate(one_generated):4.2f}x one worker (target >= 1.7x where the cores allow);"
            f" steady {_steady_rate(two):6.1f} pages/s = {_steady_rate(two) / _steady_rate(one_generated):4.2f}x"
        )
        lines.append(
            f"    one worker: used {one_cores:.2f} cores, machine {100 * one_generated.machine_busy:.0f}% busy"
            f" -> at most about {(one_cores + spare) / one_cores:.2f}x was possible here;"
            f" two workers: machine {100 * two.machine_busy:.0f}% busy,"
            f" CPU per page {1000 * two.worker_cpu_s / two.pages:.2f} ms vs {1000 * one_generated.worker_cpu_s / one_generated.pages:.2f} ms for one"
        )
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    print(run_benchmark(int(os.environ.get("PAGES", "2000"))))

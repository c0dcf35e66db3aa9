"""Ingest benchmark (`rasd bench-ingest`, `make bench-ingest`): the whole
ingest stage (Kafka in and out, decoding, extraction, metadata, site
boilerplate, story clusters, extraction log) in pages/s, beside bare
``trafilatura.extract`` on the same pages in the same run, on the local
stack. Prints figures, asserts nothing.

Corpora: the evaluation set (44 pages, served 10 times under distinct URLs)
and generated pages of the fixture universe (2,000 by default).
First untimed warm-up runs until the engine's CPU per page settles (the
stack's JVMs compile their hot code over their first minutes, on the same
cores; production servers run warm), then, each on a fresh topic
(3 partitions, or ``RASD_TOPIC_PARTITIONS``) and fresh stores:
1. bare trafilatura over the pages (the ceiling), in a fresh process like
   the worker's, taking turns with
2. one ingest worker process over the topic, until it is drained, for a
   number of rounds (3 by default): bare, worker, bare, worker, ... bare;
   each worker run is compared with the bare runs around it and the
   median round is reported (the machine's speed drifts between minutes);
3. two ingest worker processes in one consumer group over the same pages.
Worker processes (and bare trafilatura's) import and warm up on one
evaluation page before the clock starts, so every side meets the corpus's
pages cold; the time is
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
    # how another process makes the same pages (see corpus_pages)
    spec: tuple[str, int]

    @classmethod
    def of(cls, name: str, spec: tuple[str, int]) -> Corpus:
        return cls(name, corpus_pages(spec), spec)


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
    from ingest.gc_tuning import tune_for_worker
    from ingest.language import detect_language
    from ingest.worker import IngestStats, run_ingest
    from rasd.bench_extract import eval_pages as warm_pages
    from rasd.stage_progress import ingest_progress
    from rasd.bench_extract import rasd_extractor

    body, page = warm_pages()[0]
    rasd_extractor(settings.min_article_chars)(body, page)
    # the language model loads on the first text in a Latin script
    detect_language("The council met on Tuesday to discuss the budget for the coming year and the new schools.")
    # as `rasd ingest` does before its loop
    tune_for_worker()
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
    # pages each worker handled: the group shares partitions, not pages
    worker_pages: list[int]
    # CPU seconds each server of the stack spent during the run: on this
    # machine they share the worker's cores
    server_cpu_s: dict[str, float]


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
    servers0 = _servers_cpu(settings)
    t0 = time.time()
    go.set()
    done = [results.get(timeout=1800) for _ in procs]
    busy1, total1 = _busy_cores()
    servers1 = _servers_cpu(settings)
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
                      machine_busy=(busy1 - busy0) / max(total1 - total0, 1e-9),
                      worker_pages=sorted((d[2] for d in done), reverse=True),
                      server_cpu_s={name: servers1[name] - servers0[name] for name in servers0})


SERVERS = ("kafka", "opensearch")


def _servers_cpu(settings: Settings) -> dict[str, float]:
    return {name: manager.service_cpu_seconds(settings, name) for name in SERVERS}


def corpus_pages(spec: tuple[str, int]) -> list[Page]:
    """The pages of a corpus named by ``spec``: ("eval", copies) or
    ("generated", count); the same pages in every process that asks."""
    kind, size = spec
    if kind == "eval":
        return [
            (body, type(page)(page.url + f"?copy={i}", page.source, page.fetched_at))
            for i in range(size) for body, page in eval_pages()
        ]
    return generated_pages(size)


def _bare_worker(spec: tuple[str, int], ready: Any, go: Any, results: Any) -> None:
    """Bare trafilatura in a fresh process, as the ingest worker runs: its
    caches as cold as the worker's. (Timed in the parent after the parent
    had extracted the same pages, it ran on caches warmed by that pass: up
    to a quarter faster than on pages it had never seen.)"""
    pages = corpus_pages(spec)
    body, page = eval_pages()[0]
    trafilatura_extractor(body, page)
    ready.set()
    go.wait()
    started = time.perf_counter()
    for body, page in pages:
        trafilatura_extractor(body, page)
    results.put(len(pages) / (time.perf_counter() - started))


def _bare_trafilatura(corpus: Corpus) -> float:
    """Pages/s of bare trafilatura.extract over the corpus, one fresh process."""
    ctx = mp.get_context("spawn")
    ready, go, results = ctx.Event(), ctx.Event(), ctx.Queue()
    proc = ctx.Process(target=_bare_worker, args=(corpus.spec, ready, go, results))
    proc.start()
    try:
        if not ready.wait(timeout=300):
            raise RuntimeError("the bare trafilatura process did not start")
        go.set()
        return float(results.get(timeout=1800))
    finally:
        proc.join(timeout=60)
        if proc.is_alive():
            proc.terminate()


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


WARM_UP_PAGES = 2000
# Warm-up runs end once the engine's CPU per page of the last
# WARM_UP_WINDOW runs is within WARM_UP_SPREAD (largest over smallest): its
# JIT has settled. On the 2-core development machine that took 6-8 runs
# (12,000-16,000 pages: 10.5 -> 7.5 -> 6.7 -> 4.7 -> 4.0 -> 3.4 -> 4.3 ms),
# and two runs in a row can differ by under a tenth before the next drops
# by a third, so one pair is not enough.
WARM_UP_WINDOW = 3
WARM_UP_SPREAD = 1.3
WARM_UP_MAX_RUNS = 12
QUIET_BUSY = 0.25


def _wait_quiet(timeout_s: float = 60.0) -> float:
    """Wait until the machine is quiet (under ``QUIET_BUSY`` of its cores
    busy over a second) or ``timeout_s`` passes; the last share seen."""
    deadline = time.monotonic() + timeout_s
    while True:
        busy0, total0 = _busy_cores()
        time.sleep(1.0)
        busy1, total1 = _busy_cores()
        share = (busy1 - busy0) / max(total1 - total0, 1e-9)
        if share < QUIET_BUSY or time.monotonic() >= deadline:
            return share


@dataclass
class WarmUp:
    # the engine's CPU per page (ms) in each untimed run, in order
    engine_ms: list[float]
    # share of the machine busy once it was quiet again
    quiet: float


def _settled(engine_ms: list[float]) -> bool:
    last = engine_ms[-WARM_UP_WINDOW:]
    return len(last) == WARM_UP_WINDOW and max(last) <= WARM_UP_SPREAD * min(last)


def _warm_up(base: Settings) -> WarmUp:
    """Untimed ingest runs first, until the engine's CPU per page settles:
    a Kafka or engine JVM that has just started compiles its hot code over
    its first minutes, on the same two cores as the worker. (One run of 400
    pages was not enough, nor three of 1,000: the engine then spent 9-11 ms
    of CPU a page in the timed runs, against under 4.5 ms once warm, and
    the worker's share of a core fell with it.) Then wait for the machine
    to be quiet."""
    messages = page_messages(Corpus.of("warm-up", ("generated", WARM_UP_PAGES)))
    engine_ms: list[float] = []
    for _ in range(WARM_UP_MAX_RUNS):
        run = _ingest_run(base, messages, 1)
        engine_ms.append(1000 * run.server_cpu_s["opensearch"] / max(run.pages, 1))
        print(f"  warm-up run {len(engine_ms)}: the engine's CPU per page {engine_ms[-1]:.2f} ms", flush=True)
        if _settled(engine_ms):
            break
    return WarmUp(engine_ms, _wait_quiet())


def _rate(run: WorkersRun) -> float:
    return run.pages / run.seconds


def _steady_rate(run: WorkersRun) -> float:
    return run.pages / run.steady_s


def run_benchmark(generated: int = 2000, rounds: int = 3) -> str:
    if rounds < 1:
        raise ValueError("rounds must be at least 1")
    print("starting the local stack ...", flush=True)
    settings = Settings()
    endpoints = manager.up(settings, ("kafka", "opensearch"))
    base = settings.model_copy(update={"kafka_bootstrap_servers": endpoints["kafka"], "search_url": endpoints["opensearch"]})
    corpora = [Corpus.of(f"evaluation set x{EVAL_COPIES}", ("eval", EVAL_COPIES)),
               Corpus.of("generated", ("generated", generated))]
    cores = os.cpu_count() or 1
    partitions = settings.topic_partitions
    print(f"warming up the stack (runs of {WARM_UP_PAGES} pages, untimed, until the engine's CPU per page settles) ...",
          flush=True)
    warm = _warm_up(base)
    lines = [f"Rasd ingest benchmark: one ingest process vs bare trafilatura.extract, {cores} cores "
             f"(Kafka and the search engine run on the same machine, warmed up by {len(warm.engine_ms)} untimed runs of"
             f" {WARM_UP_PAGES} pages: the engine's CPU per page "
             + " -> ".join(f"{ms:.1f}" for ms in warm.engine_ms)
             + f" ms; machine {100 * warm.quiet:.0f}% busy before the first run)"]
    two: WorkersRun | None = None
    one_generated: WorkersRun | None = None
    for corpus in corpora:
        print(f"{corpus.name}: {len(corpus.pages)} pages, {rounds} rounds ...", flush=True)
        messages = page_messages(corpus)
        # Bare trafilatura and the worker take turns: this machine's speed
        # drifts by a fifth within a minute (one process extracting the same
        # 2,000 pages five times over took 4.1 to 5.9 ms a page), so each
        # worker run is set against the bare runs just before and after it,
        # and the round in the middle of the ratios gives the figures.
        bares = [_bare_trafilatura(corpus)]
        ones: list[WorkersRun] = []
        for _ in range(rounds):
            ones.append(_ingest_run(base, messages, 1))
            bares.append(_bare_trafilatura(corpus))
        beside = [(bares[i] + bares[i + 1]) / 2 for i in range(rounds)]
        steady = [_steady_rate(one) / bare for one, bare in zip(ones, beside)]
        started = [_rate(one) / bare for one, bare in zip(ones, beside)]
        mid = sorted(range(rounds), key=steady.__getitem__)[rounds // 2]
        one, bare = ones[mid], beside[mid]
        lines.append(
            f"  {corpus.name:22s} bare trafilatura {bare:6.1f} pages/s around the middle round"
            f" (every bare run: {', '.join(f'{b:.1f}' for b in bares)})"
        )
        lines.append(
            f"  {'':22s} rasd ingest (1 worker) {_rate(one):6.1f} pages/s from the start signal"
            f" ({_rate(one) / bare:4.2f}x; {one.articles} articles of {one.pages} pages;"
            f" rounds {', '.join(f'{r:.2f}x' for r in started)})"
        )
        lines.append(
            f"  {'':22s} steady (first batch to last, start-up left out): {_steady_rate(one):6.1f} pages/s"
            f" = {_steady_rate(one) / bare:4.2f}x bare trafilatura (median of rounds {', '.join(f'{r:.2f}x' for r in steady)})"
        )
        lines.append(
            f"  {'':22s} CPU per page: bare trafilatura {1000 / bare:5.2f} ms, ingest worker {1000 * one.worker_cpu_s / one.pages:5.2f} ms"
            f" (all its threads; wall time per page {1000 * one.seconds / one.pages:5.2f} ms from the start signal,"
            f" {1000 * one.steady_s / one.pages:5.2f} ms steady)"
        )
        lines.append(
            f"  {'':22s} the stack's CPU per page, on the same cores: "
            + ", ".join(f"{name} {1000 * cpu / one.pages:5.2f} ms" for name, cpu in one.server_cpu_s.items())
        )
        if corpus.name == "generated":
            one_generated = one
            print("two workers ...", flush=True)
            two = _ingest_run(base, messages, 2)
    if two is not None and one_generated is not None:
        one_cores = one_generated.worker_cpu_s / one_generated.seconds
        # Every process's work grows with the pages per second (the worker's,
        # Kafka's, the engine's), so the cores allow the one-worker rate
        # divided by the share of them that run kept busy.
        core_cap = 1 / max(one_generated.machine_busy, 1e-9)
        lines.append(
            f"  two ingest workers, one group, {partitions} partitions: {_rate(two):6.1f} pages/s = "
            f"{_rate(two) / _rate(one_generated):4.2f}x one worker (target >= 1.7x where the cores allow);"
            f" steady {_steady_rate(two):6.1f} pages/s = {_steady_rate(two) / _steady_rate(one_generated):4.2f}x"
        )
        lines.append(
            f"    one worker: used {one_cores:.2f} cores, machine {100 * one_generated.machine_busy:.0f}% busy"
            f" -> the cores allow at most about {core_cap:.2f}x here;"
            f" two workers: machine {100 * two.machine_busy:.0f}% busy,"
            f" CPU per page {1000 * two.worker_cpu_s / two.pages:.2f} ms vs {1000 * one_generated.worker_cpu_s / one_generated.pages:.2f} ms for one"
        )
        # A consumer group shares out partitions, not records: with an odd
        # count one of two workers holds more of them and ends last.
        lines.append(
            f"    pages per worker: {' / '.join(map(str, two.worker_pages))} -> the partition split alone allows at most"
            f" {two.pages / max(two.worker_pages[0], 1):.2f}x ({partitions} equal partitions over 2 workers:"
            f" {partitions / -(-partitions // 2):.2f}x)"
        )
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    print(run_benchmark(int(os.environ.get("PAGES", "2000"))))

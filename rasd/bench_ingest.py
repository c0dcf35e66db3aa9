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
from the start signal to the last worker's end (group joins included)."""
from __future__ import annotations

import multiprocessing as mp
import os
import time
import uuid
from dataclasses import dataclass
from typing import Any

from kafka import KafkaProducer

from deploy.stack import manager
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


def _messages(corpus: Corpus) -> list[bytes]:
    out = []
    for body, page in corpus.pages:
        out.append(encode(_fetched(body, page.url, page.source or "bench")))
    return out


def _produce(settings: Settings, values: list[bytes]) -> None:
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, linger_ms=20,
                             max_request_size=settings.kafka_max_message_bytes + 65_536)
    for value in values:
        producer.send(settings.topic_pages, value=value)
    producer.flush()
    producer.close()


def _worker(settings: Settings, ready: Any, go: Any, results: Any) -> None:
    # everything heavy is imported and warmed before the clock starts
    from ingest.worker import run_ingest
    from rasd.bench_extract import eval_pages as warm_pages
    from rasd.bench_extract import rasd_extractor

    body, page = warm_pages()[0]
    rasd_extractor(settings.min_article_chars)(body, page)
    ready.set()
    go.wait()
    started = time.time()
    stats = run_ingest(settings, until_end=True)
    results.put((started, time.time(), stats.pages, stats.articles))


def _run_workers(settings: Settings, count: int) -> tuple[float, int, int]:
    """Seconds from the start signal to the last worker's end, pages, articles."""
    ctx = mp.get_context("spawn")
    go = ctx.Event()
    results = ctx.Queue()
    readies = [ctx.Event() for _ in range(count)]
    procs = [ctx.Process(target=_worker, args=(settings, r, go, results)) for r in readies]
    for p in procs:
        p.start()
    for r in readies:
        r.wait(timeout=120)
    t0 = time.time()
    go.set()
    done = [results.get(timeout=1800) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    return max(d[1] for d in done) - t0, sum(d[2] for d in done), sum(d[3] for d in done)


def _bare_trafilatura(corpus: Corpus) -> float:
    started = time.perf_counter()
    for body, page in corpus.pages:
        trafilatura_extractor(body, page)
    return len(corpus.pages) / (time.perf_counter() - started)


def _fresh(base: Settings) -> Settings:
    s = base.namespaced(f"bi{uuid.uuid4().hex[:6]}")
    ensure_topics(s)
    return s


def _ingest_run(base: Settings, messages: list[bytes], workers: int) -> dict[str, float]:
    s = _fresh(base)
    try:
        _produce(s, messages)
        seconds, pages, articles = _run_workers(s, workers)
        return {"pages_per_s": pages / seconds, "pages": pages, "articles": articles, "seconds": seconds}
    finally:
        drop_run(s)


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
    lines = [f"Rasd ingest benchmark: one ingest process vs bare trafilatura.extract, {os.cpu_count()} cores "
             f"(Kafka and the search engine run on the same machine)"]
    two: dict[str, float] | None = None
    one_generated: dict[str, float] | None = None
    for corpus in corpora:
        print(f"{corpus.name}: {len(corpus.pages)} pages ...", flush=True)
        messages = _messages(corpus)
        bare = _bare_trafilatura(corpus)
        one = _ingest_run(base, messages, 1)
        lines.append(
            f"  {corpus.name:22s} bare trafilatura {bare:6.1f} pages/s   rasd ingest (1 worker) {one['pages_per_s']:6.1f} pages/s"
            f" ({one['pages_per_s'] / bare:4.2f}x, target >= 0.85x; {int(one['articles'])} articles of {int(one['pages'])} pages)"
        )
        if corpus.name == "generated":
            one_generated = one
            print("two workers ...", flush=True)
            two = _ingest_run(base, messages, 2)
    if two is not None and one_generated is not None:
        lines.append(
            f"  two ingest workers, one group, 3 partitions: {two['pages_per_s']:6.1f} pages/s = "
            f"{two['pages_per_s'] / one_generated['pages_per_s']:4.2f}x one worker (target >= 1.7x where the cores allow)"
        )
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    print(run_benchmark(int(os.environ.get("PAGES", "2000"))))

"""Indexer benchmark (run on demand: `make bench-index` or
`.venv/bin/rasd bench-index`): prints figures, asserts nothing.

For each engine (OpenSearch and Elasticsearch, in the same run), on the
same generated Arabic news articles:
- ceiling: a raw ``_bulk`` of the documents, serialized before the clock
  starts, sent one request of ``batch_max_records`` documents at a time;
- indexer: ``run_indexer`` on a real Kafka topic the articles were published
  to before the clock: decode each record into an Article, to_document,
  percolation (no rules stored: one existence check per batch), bulk, dead
  letters. Its docs/s counts the time spent handling batches (the Kafka
  polls and commits between them are shown separately, end to end);
- the same indexer with the variants of the bulk settings (compression,
  several requests in flight), to show whether they help.
Every run writes into a fresh index; a throwaway run first warms the JVM."""
from __future__ import annotations

import hashlib
import os
import random
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from deploy.stack import manager
from deploy.universe.lang import AR
from indexer.bulk import RESPONSE_FILTER, action_pair
from indexer.documents import to_document
from indexer.engines.detect import open_engine
from indexer.worker import IndexerStats, run_indexer
from ingest.arabic import normalize_arabic
from ingest.identity import document_id
from ingest.kafka_io import Publisher, ensure_topics, make_producer
from ingest.models import Article, utcnow
from ingest.settings import Settings
from rasd.stage_progress import index_progress
from rasd.bench_runs import drop_run

ENGINES = ("opensearch", "elasticsearch")


def arabic_articles(count: int, seed: int = 11) -> list[Article]:
    """Arabic news articles of a realistic size (a headline, six to twelve
    paragraphs: 1-2 KB of text) from the generated universe's vocabulary."""
    rng = random.Random(seed)
    now = utcnow()
    out = []
    for n in range(count):
        url = f"https://bench-index.example.org/ar/{n}"
        body = "\n".join(AR.paragraph(rng) for _ in range(rng.randint(6, 12)))
        title = AR.headline_text(rng)
        # the normalized copies and counts the ingest stage adds to each article
        body_norm = normalize_arabic(body)
        out.append(Article(
            id=document_id(url), url=url, fetched_url=url, source=f"bench-ar-{n % 20}", domain="bench-index.example.org",
            title=title, title_norm=normalize_arabic(title), body=body, body_norm=body_norm, language="ar",
            description=body[:160], word_count=len(body.split()), content_hash=hashlib.sha256(body_norm.encode()).hexdigest(),
            published_at=now - timedelta(minutes=n), fetched_at=now, extracted_at=now,
        ))
    return out


@dataclass
class Run:
    label: str
    docs: int
    seconds: float
    wall_s: float | None = None
    # from the first batch's start to the last one's end (polls and commits in)
    steady_s: float | None = None

    @property
    def docs_per_s(self) -> float:
        return self.docs / self.seconds if self.seconds > 0 else 0.0


def _fresh(base: Settings, url: str, **overrides: Any) -> Settings:
    s = base.namespaced(f"benchi{uuid.uuid4().hex[:6]}").model_copy(update={"search_url": url, **overrides})
    ensure_topics(s)
    return s


def raw_bulk(base: Settings, url: str, articles: list[Article]) -> Run:
    """The ceiling: pre-serialized NDJSON bodies, one bulk after the other."""
    s = _fresh(base, url)
    engine = open_engine(url, timeout_s=120.0)
    try:
        alias = engine.ensure_index(s.articles_alias)
        indexed_at = utcnow()
        docs = [to_document(a, indexed_at) | {"matched_rules": []} for a in articles]
        size = base.batch_max_records
        bodies = [b"".join(action_pair(alias, d) for d in docs[i:i + size]) for i in range(0, len(docs), size)]
        t0 = time.monotonic()
        for body in bodies:
            response = engine.bulk_ndjson(body, filter_path=RESPONSE_FILTER)  # type: ignore[attr-defined]
            if response.get("errors"):
                raise RuntimeError(f"raw bulk refused documents: {str(response)[:500]}")
        seconds = time.monotonic() - t0
        engine.refresh(s.articles_alias)
        if engine.count(s.articles_alias) != len(docs):
            raise RuntimeError("raw bulk lost documents")
        return Run("raw _bulk (ceiling)", len(docs), seconds)
    finally:
        engine.close()
        drop_run(s)


def indexer_run(base: Settings, url: str, articles: list[Article], label: str, **overrides: Any) -> Run:
    s = _fresh(base, url, **overrides)
    engine = open_engine(url, timeout_s=120.0, http_compress=s.search_http_compress)
    try:
        engine.ensure_index(s.articles_alias)
        publisher = Publisher(make_producer(s, client_id="bench-index"))
        try:
            for article in articles:
                publisher.send(s.topic_articles, article, key=article.id)
        finally:
            publisher.close()
        stats = IndexerStats()
        with index_progress(s, stats, len(articles), engine.distribution):
            t0 = time.monotonic()
            run_indexer(s, engine, until_end=True, stats=stats)
            wall = time.monotonic() - t0
        engine.refresh(s.articles_alias)
        if stats.indexed != len(articles) or engine.count(s.articles_alias) != len(articles):
            raise RuntimeError(f"{label}: indexed {stats.indexed} of {len(articles)} ({stats.dead_lettered} dead letters)")
        steady = (stats.last_batch_end - stats.first_batch_at
                  if stats.first_batch_at is not None and stats.last_batch_end is not None else None)
        return Run(label, stats.indexed, stats.busy_s, wall, steady)
    finally:
        engine.close()
        drop_run(s)


def variants(settings: Settings) -> list[tuple[str, dict[str, Any]]]:
    batch = settings.batch_max_records
    quarter = max(1, batch // 4)
    mine = (settings.index_bulk_max_docs, settings.index_bulk_concurrency)
    shapes = [(shape, f"indexer, {shape[0]} docs/request, {shape[1]} in flight")
              for shape in ((batch, 1), (quarter, 1), (quarter, 2), (quarter, 4)) if shape != mine]
    return [
        (f"indexer (settings: compress={settings.search_http_compress}, "
         f"{settings.index_bulk_concurrency} in flight, <= {settings.index_bulk_max_docs} docs/request)", {}),
        (f"indexer, compress={not settings.search_http_compress}",
         {"search_http_compress": not settings.search_http_compress}),
        *((label, {"index_bulk_max_docs": docs, "index_bulk_concurrency": flight}) for (docs, flight), label in shapes),
    ]


def run_benchmark(settings: Settings, articles: int = 5000, engines: tuple[str, ...] = ENGINES) -> str:
    print("starting the local stack (Kafka, OpenSearch, Elasticsearch) ...", flush=True)
    endpoints = manager.up(settings, ("kafka", *engines))
    base = settings.model_copy(update={"kafka_bootstrap_servers": endpoints["kafka"]})
    generated = arabic_articles(articles)
    mean_kb = sum(len(a.body.encode()) + len(a.title.encode()) for a in generated) / len(generated) / 1024
    lines = [
        f"Rasd indexer benchmark: {len(generated)} Arabic articles (~{mean_kb:.1f} KB of text each), "
        f"batches of {base.batch_max_records}, {os.cpu_count()} cores, no rules stored",
        "  indexer: records read from a real Kafka topic (published before the clock); docs/s over the time spent "
        "handling batches (decode, to_document, percolate, route, bulk, dead letters); 'steady' is from the first "
        "batch's start to the last one's end (Kafka polls and commits in); 'end to end' adds the start (index setup, "
        "group join)",
    ]
    for name in engines:
        url = endpoints[name]
        print(f"{name}: warm-up ...", flush=True)
        raw_bulk(base, url, generated)
        print(f"{name}: raw _bulk ...", flush=True)
        ceiling = raw_bulk(base, url, generated)
        runs = []
        for label, overrides in variants(base):
            print(f"{name}: {label} ...", flush=True)
            runs.append(indexer_run(base, url, generated, label, **overrides))
        lines.append(f"  {name}:")
        lines.append(f"    {ceiling.label:58s} {ceiling.docs_per_s:8.1f} docs/s  ({ceiling.seconds:.1f} s)")
        for run in runs:
            lines.append(
                f"    {run.label:58s} {run.docs_per_s:8.1f} docs/s  ratio to ceiling {run.docs_per_s / ceiling.docs_per_s:4.2f}"
                f"  (steady {run.docs / (run.steady_s or 1):7.1f} docs/s = {run.docs / (run.steady_s or 1) / ceiling.docs_per_s:4.2f}x,"
                f" end to end {run.docs / (run.wall_s or 1):7.1f} docs/s, {run.wall_s:.1f} s)"
            )
    lines.append("  target: the indexer (settings) at >= 0.8x the raw _bulk ceiling")
    return "\n".join(lines)

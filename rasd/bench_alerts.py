"""Alert benchmark (run on demand: `make bench-alerts` or
`.venv/bin/rasd bench-alerts`): prints figures, asserts nothing.

In one run on the local stack (OpenSearch: the engine with the percolator):
1. indexing throughput with 0, 1,000 and 10,000 stored rules: the same
   generated articles (one in ten names Karabakh in some script) are indexed
   from the articles topic to the end; docs/s and alerts per setting, and
   the ratio to the run without rules;
2. latency with the largest rule set: articles are published one at a time
   at a steady rate while the indexer and the notifier run; per alert, the
   time from the article being indexed (engine acknowledged) to the alert
   being emitted (sent to the alerts topic) and to the webhook receiving it
   (p50, p95, max)."""
from __future__ import annotations

import os
import random
import statistics
import threading
import time
import uuid
from datetime import timedelta
from typing import Any

from kafka import KafkaConsumer

from deploy.stack import manager
from deploy.universe.lang import AR, EN, FA, RU, Lang
from deploy.webhook_sink import WebhookServer
from indexer.alerts.rules_file import parse_rules
from indexer.alerts.rules_index import sync_rules
from indexer.alerts.notifier import run_notifier
from indexer.engines.detect import open_engine
from indexer.worker import IndexerStats, run_indexer
from ingest.identity import document_id
from ingest.kafka_connection import kafka_client_kwargs
from ingest.kafka_io import Publisher, decode, ensure_topics, make_producer
from ingest.models import Alert, Article, utcnow
from ingest.progress import Progress, Snapshot
from ingest.settings import Settings
from rasd.stage_progress import index_progress
from rasd.bench_runs import drop_run, percentile

KARABAKH = ["كاراباخ", "قره باغ", "Karabakh", "Qarabağ*", "Карабах", "Artsakh", "قرهباغ"]
MENTIONS = ["بكاراباخ", "والكاراباخ", "قره باغ", "Karabakh", "Qarabağda", "Карабаха", "قره‌باغ"]
LANGS: tuple[Lang, ...] = (AR, AR, EN, RU, FA)

_LATIN = "bcdfgklmnprstvz"
_VOWELS = "aeiou"
_ARABIC = "بتثجحخدذرزسشصضطظعغفقكلمنهوي"
_CYRILLIC_C = "бвгдклмнпрстфхз"
_CYRILLIC_V = "аеиоу"


def _word(rng: random.Random, consonants: str, vowels: str | None, length: int) -> str:
    if vowels is None:
        return "".join(rng.choice(consonants) for _ in range(length))
    return "".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(length // 2 + 1))


def filler_rules(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """Rules a monitoring team might keep (names in three scripts, some with
    a second condition); made-up names, so they match (almost) nothing."""
    rng = random.Random(seed)
    rules = []
    for i in range(count):
        latin = _word(rng, _LATIN, _VOWELS, 6).capitalize()
        rule: dict[str, Any] = {
            "name": f"watch-{i:05d}",
            "any_of": [
                latin,
                f"{latin} {_word(rng, _LATIN, _VOWELS, 5).capitalize()}",
                _word(rng, _ARABIC, None, 5),
                _word(rng, _CYRILLIC_C, _CYRILLIC_V, 6).capitalize(),
            ],
            "severity": rng.choice(["low", "medium", "high"]),
        }
        if i % 10 == 0:
            rule["all_of"] = [[_word(rng, _ARABIC, None, 4), _word(rng, _LATIN, _VOWELS, 5)]]
        rules.append(rule)
    return rules


def make_articles(count: int, seed: int = 3) -> list[Article]:
    rng = random.Random(seed)
    now = utcnow()
    out = []
    for n in range(count):
        lang = LANGS[n % len(LANGS)]
        paragraphs = [lang.paragraph(rng) for _ in range(5)]
        if n % 10 == 0:  # one in ten is about Karabakh
            paragraphs[2] += f" {rng.choice(MENTIONS)} {lang.paragraph(rng)}"
        url = f"https://bench.example.org/{lang.code}/{n}"
        out.append(Article(
            id=document_id(url), url=url, fetched_url=url, source=f"bench-{lang.code}", domain="bench.example.org",
            title=lang.headline_text(rng), body="\n".join(paragraphs), language=lang.code,
            published_at=now - timedelta(minutes=n), fetched_at=now, extracted_at=now,
        ))
    return out


def _rules_file(count: int, hook_url: str) -> Any:
    rules = [{"name": "karabakh", "any_of": KARABAKH, "severity": "high", "channels": ["bench"]}]
    rules += filler_rules(max(0, count - 1))
    return parse_rules({"channels": {"bench": {"type": "webhook", "url": hook_url}}, "rules": rules}, "bench")


def _publish(settings: Settings, articles: list[Article], rate_per_s: float | None = None) -> dict[str, float]:
    publisher = Publisher(make_producer(settings, client_id="bench-alerts"))
    sent: dict[str, float] = {}
    try:
        for article in articles:
            sent[article.id] = time.time()
            publisher.send(settings.topic_articles, article, key=article.id)
            if rate_per_s:
                time.sleep(1.0 / rate_per_s)
    finally:
        publisher.close()
    return sent


def _fresh(settings: Settings) -> Settings:
    s = settings.namespaced(f"bencha{uuid.uuid4().hex[:6]}")
    ensure_topics(s)
    return s


def _stats(values: list[float]) -> str:
    if not values:
        return "no samples"
    return (f"p50 {percentile(values, 50) * 1000:7.0f} ms, p95 {percentile(values, 95) * 1000:7.0f} ms, "
            f"max {max(values) * 1000:7.0f} ms  (n={len(values)})")


def throughput(base: Settings, engine_url: str, articles: list[Article], rules: int, sink: WebhookServer) -> dict:
    s = _fresh(base)
    engine = open_engine(engine_url, timeout_s=120.0)
    try:
        engine.ensure_index(s.articles_alias)
        sync_s = 0.0
        if rules:
            t0 = time.monotonic()
            sync_rules(engine, s, _rules_file(rules, sink.url))
            sync_s = time.monotonic() - t0
        _publish(s, articles)
        stats = IndexerStats()
        with index_progress(s, stats, len(articles), engine.distribution):
            t0 = time.monotonic()
            run_indexer(s, engine, until_end=True, stats=stats)
            seconds = time.monotonic() - t0
        return {"rules": rules, "docs_per_s": stats.indexed / seconds, "indexed": stats.indexed,
                "alerts": stats.alerts, "seconds": seconds, "sync_s": sync_s,
                "percolate_ms_per_batch": 1000 * stats.percolate_s / max(1, stats.batches), "batches": stats.batches}
    finally:
        drop_run(s)
        engine.close()


def latency(base: Settings, engine_url: str, articles: list[Article], rules: int, rate_per_s: float,
            sink: WebhookServer) -> dict:
    s = _fresh(base.model_copy(update={"consumer_poll_timeout_ms": 100, "alert_sweep_interval_s": 0.5}))
    engine = open_engine(engine_url, timeout_s=120.0)
    stop = threading.Event()
    failures: list[str] = []

    def guarded(fn: Any, *args: Any, **kwargs: Any) -> None:
        try:
            fn(*args, **kwargs)
        except Exception as exc:  # a dead worker must show in the figures
            failures.append(f"{getattr(fn, '__name__', fn)}: {exc!r}")

    try:
        engine.ensure_index(s.articles_alias)
        sync_rules(engine, s, _rules_file(rules, sink.url))
        workers = [
            threading.Thread(target=guarded, args=(run_indexer, s, engine), kwargs={"stop": stop}, daemon=True),
            threading.Thread(target=guarded, args=(run_notifier, s, engine), kwargs={"stop": stop}, daemon=True),
        ]
        for w in workers:
            w.start()
        about = [a for a in articles if any(m in a.body for m in MENTIONS)]
        ids = {a.id for a in about}

        def delivered_articles() -> set[str]:
            return {r[0].json["alert"]["article_id"] for r in sink.delivered().values() if r[0].json}

        with Progress("bench_alerts_latency", lambda: Snapshot(len(delivered_articles() & ids), len(ids)),
                      s.progress_interval_s, unit="delivered"):
            _publish(s, about, rate_per_s=rate_per_s)
            sink.wait_for(lambda: ids <= delivered_articles() or bool(failures), timeout=120)
        stop.set()
        for w in workers:
            w.join(timeout=60)
        emitted: dict[str, tuple[Alert, float]] = {}
        consumer = KafkaConsumer(s.topic_alerts, **kafka_client_kwargs(s),
                                 auto_offset_reset="earliest", enable_auto_commit=False, consumer_timeout_ms=3000)
        for record in consumer:
            alert = decode(record.value, Alert)
            emitted.setdefault(alert.id, (alert, record.timestamp / 1000.0))
        consumer.close()
        to_emit = [ts - a.indexed_at.timestamp() for a, ts in emitted.values()]
        delivered_at = {key: received[0].wall for key, received in sink.delivered().items()}
        to_hook = [delivered_at[aid] - a.indexed_at.timestamp() for aid, (a, _) in emitted.items() if aid in delivered_at]
        return {"rules": rules, "articles": len(about), "alerts": len(emitted), "delivered": len(to_hook),
                "indexed_to_emitted": to_emit, "indexed_to_delivered": to_hook, "failures": failures}
    finally:
        stop.set()
        drop_run(s)
        engine.close()


def run_benchmark(settings: Settings, articles: int = 2000, rule_counts: tuple[int, ...] = (0, 1000, 10_000),
                  rate_per_s: float = 5.0) -> str:
    print("starting the local stack (Kafka, OpenSearch) ...", flush=True)
    endpoints = manager.up(settings, ("kafka", "opensearch"))
    base = settings.model_copy(update={"kafka_bootstrap_servers": endpoints["kafka"],
                                       "search_url": endpoints["opensearch"]})
    generated = make_articles(articles)
    lines = [f"Rasd alert benchmark: {len(generated)} articles (1 in 10 about Karabakh), OpenSearch, "
             f"{os.cpu_count()} cores"]
    with WebhookServer() as sink:
        # The first indexing run of a JVM is slow (JIT, caches): one run
        # without rules is thrown away so that the measured runs compare fairly.
        print("warm-up run ...", flush=True)
        throughput(base, endpoints["opensearch"], generated, 0, sink)
        runs = []
        for count in rule_counts:
            print(f"throughput with {count} rules ...", flush=True)
            runs.append(throughput(base, endpoints["opensearch"], generated, count, sink))
        reference = runs[0]["docs_per_s"]
        for run in runs:
            lines.append(
                f"  {run['rules']:6d} rules: {run['docs_per_s']:7.1f} docs/s  ratio to no rules {run['docs_per_s'] / reference:5.2f}"
                f"  percolation {run['percolate_ms_per_batch']:6.1f} ms per batch of {settings.batch_max_records}"
                f"  ({run['indexed']} docs, {run['alerts']} alerts, {run['seconds']:.1f} s; rules synced in {run['sync_s']:.1f} s)"
            )
        most = max(rule_counts)
        print(f"latency with {most} rules at {rate_per_s}/s ...", flush=True)
        lat = latency(base, endpoints["opensearch"], generated, most, rate_per_s, sink)
    lines.append(
        "  (docs/s is the whole indexer: Kafka read, percolation, bulk index, alert writes; the same articles each run)"
    )
    lines.append(f"  latency with {lat['rules']} rules, {lat['articles']} matching articles published at {rate_per_s}/s "
                 f"({lat['alerts']} alerts emitted, {lat['delivered']} delivered):")
    lines.append(f"    indexed -> alert emitted:     {_stats(lat['indexed_to_emitted'])}")
    lines.append(f"    indexed -> webhook delivered: {_stats(lat['indexed_to_delivered'])}")
    if lat["indexed_to_delivered"]:
        lines.append(f"    target p95 < 2 s: {'met' if percentile(lat['indexed_to_delivered'], 95) < 2 else 'NOT met'}"
                     f" (mean {statistics.fmean(lat['indexed_to_delivered']):.2f} s)")
    if lat["failures"]:
        lines.append(f"  FAILURES: {lat['failures']}")
    return "\n".join(lines)

"""Where a benchmark's latency goes: for each article, the moment it passed
each hop of the pipeline, read back after the run from what the pipeline
itself recorded (the Kafka record timestamps of the pages and articles
topics, set by the producing stage, and the document's ``indexed_at``), so
the measurement adds no work to the stages it measures.

All clocks are this machine's; on several machines the hops would carry
their clock skew."""
from __future__ import annotations

import time
from datetime import datetime
from collections.abc import Iterable, Mapping

import orjson
import urllib3
from kafka import KafkaConsumer, TopicPartition

from ingest.kafka_connection import kafka_client_kwargs
from ingest.settings import Settings
from rasd.bench_runs import latency_summary

# (name, start hop, end hop) of each leg reported
LEGS = (
    ("served -> on pages topic    (crawler)", "served", "pages"),
    ("pages topic -> article out  (ingest) ", "pages", "articles"),
    ("article out -> bulk answered (index) ", "articles", "indexed"),
    ("bulk answered -> searchable (refresh)", "indexed", "searchable"),
)


def first_record_times(settings: Settings, topic: str, timeout_s: float = 60.0) -> dict[str, float]:
    """Key -> timestamp (epoch seconds) of the first record with that key on ``topic``."""
    consumer = KafkaConsumer(**kafka_client_kwargs(settings), enable_auto_commit=False, isolation_level="read_committed",
                             max_partition_fetch_bytes=settings.kafka_max_message_bytes + 64 * 1024)
    found: dict[str, float] = {}
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        end = consumer.end_offsets(partitions)
        deadline = time.monotonic() + timeout_s
        while any(consumer.position(tp) < end[tp] for tp in partitions) and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                for record in records:
                    if record.key is not None:
                        found.setdefault(record.key.decode(), record.timestamp / 1000)
    finally:
        consumer.close()
    return found


def indexed_times(engine_url: str, alias: str, ids: Iterable[str]) -> dict[str, float]:
    """Document id -> its ``indexed_at`` (epoch seconds)."""
    http = urllib3.PoolManager()
    wanted = list(ids)
    found: dict[str, float] = {}
    for start in range(0, len(wanted), 1000):
        chunk = wanted[start:start + 1000]
        body = orjson.dumps({"query": {"ids": {"values": chunk}}, "_source": ["indexed_at"], "size": len(chunk)})
        resp = http.request("POST", f"{engine_url.rstrip('/')}/{alias}/_search", body=body,
                            headers={"Content-Type": "application/json"})
        if resp.status != 200:
            continue
        for hit in orjson.loads(resp.data)["hits"]["hits"]:
            found[hit["_id"]] = datetime.fromisoformat(hit["_source"]["indexed_at"]).timestamp()
    http.clear()
    return found


def hop_legs(hops: Mapping[str, Mapping[str, float]]) -> dict[str, dict[str, float | None]]:
    """Per leg of ``LEGS``: the latency summary over the articles that have both of its hops."""
    legs: dict[str, dict[str, float | None]] = {}
    for name, start, end in LEGS:
        a, b = hops.get(start, {}), hops.get(end, {})
        legs[name] = latency_summary([b[doc] - a[doc] for doc in a.keys() & b.keys()])
    return legs


def hop_lines(legs: Mapping[str, Mapping[str, float | None]]) -> list[str]:
    """The report of ``hop_legs``."""
    lines = ["    where the time goes (per article):"]
    for name, lat in legs.items():
        if lat["p50"] is not None:
            lines.append(f"      {name}: p50 {lat['p50']:.2f} s, p95 {lat['p95']:.2f} s, max {lat['max']:.2f} s")
    return lines

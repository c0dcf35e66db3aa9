"""`rasd status`: the whole pipeline on one screen, read from the shared
servers (Kafka, the search engines), never from a process's memory, so it
works from any machine and shows every replica of every stage at once.

Four parts, each on its own: a part whose server cannot be reached says
``unreachable: <reason>`` and the others are still shown.
- consumer groups: lag per partition (end offset - committed offset) and
  rates from two samples ``window_s`` apart (records committed per second,
  records arriving per second);
- dead letters: the tail of the dead-letter topic (the last ``tail``
  records per partition) counted by stage and reason, with the newest time;
- documents behind the articles alias, per engine;
- last crawl per source: the newest fetch time in the URL status index."""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from pydantic import ValidationError

from ingest.models import DeadLetter
from ingest.kafka_connection import kafka_client_kwargs
from ingest.settings import Settings

# Bounds so the command answers in seconds even when a server is away.
_KAFKA_TIMEOUT_MS = 5000
_ENGINE_TIMEOUT_S = 5.0
_TAIL_READ_S = 5.0
_MAX_SOURCES = 500


def _unreachable(exc: BaseException) -> dict[str, str]:
    return {"unreachable": f"{type(exc).__name__}: {exc}"[:300]}


def _part(build: Callable[[], Any]) -> Any:
    try:
        return build()
    except Exception as exc:  # noqa: BLE001 - one part down must not hide the others
        return _unreachable(exc)


def _groups(settings: Settings, admin: KafkaAdminClient) -> list[tuple[str, str, str]]:
    """(stage, group, topic) of every stage's consumer group."""
    groups = [("crawl", settings.crawler_group_id, settings.topic_frontier),
              ("ingest", settings.ingest_group_id, settings.topic_pages)]
    if settings.indexer_group_id:
        groups.append(("index", settings.indexer_group_id, settings.topic_articles))
    else:
        # one group per engine distribution (indexer.worker.group_id)
        found = sorted(g["group_id"] for g in admin.list_groups() if g["group_id"].startswith("rasd-indexer-"))
        groups += [("index", group, settings.topic_articles) for group in found]
    groups.append(("notify", settings.notifier_group_id, settings.topic_alerts))
    return groups


def _committed(admin: KafkaAdminClient, groups: list[str]) -> dict[str, dict[TopicPartition, int]]:
    answer = admin.list_group_offsets({group: None for group in groups})
    return {g: {tp: meta.offset for tp, meta in (answer.get(g) or {}).items() if meta.offset >= 0} for g in groups}


def _client_kwargs(settings: Settings) -> dict[str, Any]:
    # one screen must not wait kafka-python's 30 s for an absent broker
    return {**kafka_client_kwargs(settings), "bootstrap_timeout_ms": min(_KAFKA_TIMEOUT_MS, settings.kafka_bootstrap_timeout_ms)}


def consumer_groups(settings: Settings, window_s: float) -> list[dict[str, Any]]:
    admin = KafkaAdminClient(**_client_kwargs(settings), client_id="rasd-status", request_timeout_ms=_KAFKA_TIMEOUT_MS)
    consumer = KafkaConsumer(**_client_kwargs(settings), group_id=None, client_id="rasd-status",
                             enable_auto_commit=False, request_timeout_ms=_KAFKA_TIMEOUT_MS + 1000)
    try:
        groups = _groups(settings, admin)
        partitions = {
            topic: [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
            for topic in {topic for _, _, topic in groups}
        }
        every = [tp for tps in partitions.values() for tp in tps]
        begin = consumer.beginning_offsets(every, timeout_ms=_KAFKA_TIMEOUT_MS)
        names = [group for _, group, _ in groups]
        first, ends_first = _committed(admin, names), consumer.end_offsets(every, timeout_ms=_KAFKA_TIMEOUT_MS)
        started = time.monotonic()
        time.sleep(window_s)  # the rate needs two samples; nothing to wait on but the clock
        second, ends = _committed(admin, names), consumer.end_offsets(every, timeout_ms=_KAFKA_TIMEOUT_MS)
        elapsed = time.monotonic() - started
    finally:
        consumer.close()
        admin.close()
    out = []
    for stage, group, topic in groups:
        rows, consumed, arrived = {}, 0, 0
        for tp in partitions[topic]:
            committed = second[group].get(tp)
            position = committed if committed is not None else begin.get(tp, 0)
            rows[str(tp.partition)] = {"committed": committed, "end": ends[tp], "lag": max(0, ends[tp] - position)}
            consumed += position - first[group].get(tp, begin.get(tp, 0))
            arrived += ends[tp] - ends_first[tp]
        out.append({
            "stage": stage, "group": group, "topic": topic,
            "lag": sum(r["lag"] for r in rows.values()),
            "committed_per_s": round(consumed / elapsed, 1),
            "arriving_per_s": round(arrived / elapsed, 1),
            "committed_yet": bool(second[group]),
            "partitions": rows,
        })
    return out


def dead_letters(settings: Settings, tail: int) -> dict[str, Any]:
    consumer = KafkaConsumer(**_client_kwargs(settings), group_id=None, client_id="rasd-status",
                             isolation_level="read_committed",  # never the letters of an aborted batch
                             enable_auto_commit=False, request_timeout_ms=_KAFKA_TIMEOUT_MS + 1000)
    counts: dict[tuple[str, str], dict[str, Any]] = {}
    scanned = unreadable = 0
    try:
        topic = settings.topic_dead_letters
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(tps)
        begin = consumer.beginning_offsets(tps, timeout_ms=_KAFKA_TIMEOUT_MS)
        end = consumer.end_offsets(tps, timeout_ms=_KAFKA_TIMEOUT_MS)
        for tp in tps:
            consumer.seek(tp, max(begin[tp], end[tp] - tail))
        deadline = time.monotonic() + _TAIL_READ_S
        while any(consumer.position(tp) < end[tp] for tp in tps) and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                for record in records:
                    if record.offset >= end[TopicPartition(record.topic, record.partition)]:
                        continue
                    scanned += 1
                    try:
                        letter = DeadLetter.model_validate_json(record.value or b"")
                    except ValidationError:
                        unreadable += 1
                        continue
                    row = counts.setdefault((letter.stage, letter.reason), {"count": 0, "newest": letter.occurred_at})
                    row["count"] += 1
                    row["newest"] = max(row["newest"], letter.occurred_at)
    finally:
        consumer.close()
    rows = [{"stage": s, "reason": r, "count": v["count"], "newest": v["newest"].isoformat()}
            for (s, r), v in sorted(counts.items(), key=lambda kv: -kv[1]["count"])]
    return {"topic": topic, "scanned": scanned, "unreadable": unreadable, "tail_per_partition": tail, "by_reason": rows}


def _shown_url(url: str) -> str:
    """The engine URL without any user:password in it."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else ""))) if parts.hostname else url


def _client(settings: Settings, url: str) -> Any:
    from ingest.engines.detect import open_configured_client

    # every connection option (TLS, API key) from the settings, a short timeout
    quick = settings.model_copy(update={"search_request_timeout_s": _ENGINE_TIMEOUT_S})
    return open_configured_client(quick, url)


def documents(settings: Settings, url: str) -> dict[str, Any]:
    row: dict[str, Any] = {"url": _shown_url(url), "alias": settings.articles_alias}
    try:
        client = _client(settings, url)
    except Exception as exc:  # noqa: BLE001
        return {**row, **_unreachable(exc)}
    try:
        row["distribution"] = client.distribution
        row["documents"] = (int(client.count_raw(settings.articles_alias)["count"])
                            if client.index_exists(settings.articles_alias) else 0)
    except Exception as exc:  # noqa: BLE001
        row.update(_unreachable(exc))
    finally:
        client.close()
    return row


def last_crawls(settings: Settings) -> dict[str, Any]:
    index = settings.crawl_status_index
    client = _client(settings, settings.search_url)
    try:
        if not client.index_exists(index):
            return {"index": index, "sources": []}
        body = {"size": 0, "aggs": {"by_source": {
            "terms": {"field": "source", "size": _MAX_SOURCES},
            "aggs": {"last": {"max": {"field": "last_fetched_at"}}},
        }}}
        buckets = client.search_raw(index, body)["aggregations"]["by_source"]["buckets"]
    finally:
        client.close()
    return {"index": index, "sources": [
        {"source": b["key"], "urls": b["doc_count"], "last_fetched_at": b["last"].get("value_as_string")}
        for b in sorted(buckets, key=lambda b: b["key"])
    ]}


def pipeline_status(settings: Settings, *, search_urls: list[str] | None = None, window_s: float = 3.0,
                    tail: int = 1000) -> dict[str, Any]:
    """Every part of `rasd status`, as plain data (the --json output)."""
    groups = _part(lambda: consumer_groups(settings, window_s))
    # Kafka away: say so once rather than wait for it twice
    kafka_down = isinstance(groups, dict) and "unreachable" in groups
    return {
        "at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "consumer_groups": groups,
        "dead_letters": groups if kafka_down else _part(lambda: dead_letters(settings, tail)),
        "engines": [documents(settings, url) for url in (search_urls or [settings.search_url])],
        "crawl": _part(lambda: last_crawls(settings)),
    }


def render_json(status: dict[str, Any]) -> str:
    return json.dumps(status, indent=2, ensure_ascii=False)


def _section(title: str, part: Any, server: str, rows: Callable[[Any], list[str]], empty: Callable[[Any], str]) -> list[str]:
    """One part of the table: its rows, a line when it has none, or why it could not be read."""
    if isinstance(part, dict) and "unreachable" in part:
        return ["", title, f"  {server} unreachable: {part['unreachable']}"]
    return ["", title, *(rows(part) or [f"  {empty(part)}"])]


def _group_rows(groups: list[dict[str, Any]]) -> list[str]:
    lines = [f"  {'stage':7} {'group':32} {'lag':>8} {'committed/s':>12} {'arriving/s':>11}  per partition"]
    for g in groups:
        parts = " ".join(f"{p}:{r['lag']}" for p, r in g["partitions"].items())
        note = "" if g["committed_yet"] else "  (no commits yet)"
        lines.append(f"  {g['stage']:7} {g['group'][:32]:32} {g['lag']:>8} {g['committed_per_s']:>12} "
                     f"{g['arriving_per_s']:>11}  {parts}{note}")
    return lines


def _engine_row(engine: dict[str, Any]) -> str:
    what = (f"unreachable: {engine['unreachable']}" if "unreachable" in engine
            else f"{engine['documents']} documents ({engine['distribution']})")
    return f"  {engine['url']:32} {engine['alias']:20} {what}"


def render_table(status: dict[str, Any]) -> str:
    return "\n".join([
        f"Rasd status at {status['at']}",
        *_section("consumer groups (lag = end - committed)", status["consumer_groups"], "kafka", _group_rows,
                  lambda _: "no consumer groups"),
        *_section("dead letters (newest records of each partition)", status["dead_letters"], "kafka",
                  lambda part: [f"  {r['stage']:7} {r['reason']:22} {r['count']:>6}  newest {r['newest']}"
                                for r in part["by_reason"]],
                  lambda part: f"none in the last {part['tail_per_partition']} of {part['topic']}"),
        *_section("documents per engine", status["engines"], "engine", lambda engines: [_engine_row(e) for e in engines],
                  lambda _: "no engine"),
        *_section("last crawl per source", status["crawl"], "status index",
                  lambda part: [f"  {r['source']:24} {r['urls']:>7} URLs  last fetch {r['last_fetched_at'] or '-'}"
                                for r in part["sources"]],
                  lambda part: f"nothing crawled yet ({part['index']})"),
    ])

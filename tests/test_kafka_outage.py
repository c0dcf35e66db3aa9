"""Fault test (issue 9): the Kafka broker is stopped for 30 s while pages are
being fed, extracted and indexed, then started again. Neither the ingest
worker nor the indexer ends (no exception, no exit); afterwards every page
fed is searchable exactly once.

The broker is a private Kafka started for this test from the shared download
cache (the shared test stack is never stopped); the search engine is the
shared OpenSearch, on a private alias."""
from __future__ import annotations

import collections
import re
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

import pytest
import structlog
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError

from deploy.stack import manager
from deploy.stack.fetch import classpath, kafka_lib
from deploy.stack.jdk import find_jdk
from indexer.engines.detect import open_engine
from ingest.engines.errors import EngineError
from ingest.identity import document_id
from ingest.kafka_connection import kafka_client_kwargs
from ingest.kafka_io import decode, encode, ensure_topics
from ingest.models import FetchedPage
from ingest.settings import Settings
from ingest.worker import IngestStats, run_ingest
from rasd.bench_extract import generated_pages
from rasd.bench_ingest import _fetched
from tests.waiting import wait_for
from tests.indexer.support import IndexerThread, committed_and_end_offsets

pytestmark = pytest.mark.services

OUTAGE_S = 30.0
PAGES = 240


class Feeder:
    """Publishes pages one by one at a steady pace, each until Kafka
    acknowledges it (so the outage falls while pages keep coming). Any
    error of the client is retried with a new producer and kept in
    ``errors``: a feeder that gave up would look like pages lost by Rasd."""

    def __init__(self, settings: Settings, values: list[bytes], per_s: float) -> None:
        self.settings, self.values, self.pause_s = settings, values, 1.0 / per_s
        self.acked = 0
        self.errors: list[str] = []
        self.thread = threading.Thread(target=self._run, name="feeder", daemon=True)

    def _producer(self) -> KafkaProducer:
        return KafkaProducer(bootstrap_servers=self.settings.kafka_bootstrap_servers, acks="all",
                             max_block_ms=2_000, request_timeout_ms=2_000, retries=0)

    def _run(self) -> None:
        producer: KafkaProducer | None = None
        for value in self.values:
            while True:
                try:
                    producer = producer or self._producer()
                    producer.send(self.settings.topic_pages, value=value).get(timeout=5)
                    break
                except KafkaError:
                    time.sleep(0.5)
                except Exception as exc:  # noqa: BLE001 - a client in a bad state: start afresh
                    self.errors.append(repr(exc))
                    if producer is not None:
                        producer.close(timeout=1)
                    producer = None
                    time.sleep(0.5)
            self.acked += 1
            time.sleep(self.pause_s)
        if producer is not None:
            producer.close(timeout=5)


def _indexed_ids(engine: Any, alias: str) -> list[str]:
    try:
        engine.refresh(alias)
        hits = engine.search_raw(alias, {"size": PAGES * 2, "_source": False, "query": {"match_all": {}}})
    except EngineError as exc:
        if exc.status != 404:
            raise
        return []
    return [hit["_id"] for hit in hits["hits"]["hits"]]


def _topic_ids(settings: Settings, topic: str, isolation: str, key: Any) -> dict[str, list[str]]:
    """Where ``key(record)`` of every record of ``topic`` is (``partition:offset``),
    read from the start to its end offsets as a consumer of ``isolation`` sees them."""
    consumer = KafkaConsumer(**kafka_client_kwargs(settings), group_id=None, enable_auto_commit=False,
                             isolation_level=isolation)
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(tps)
        consumer.seek_to_beginning()
        # a read_committed consumer stops at the last stable offset
        ends = consumer.end_offsets(tps)
        ids: dict[str, list[str]] = {}
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(consumer.position(tp) < ends[tp] for tp in tps):
            for records in consumer.poll(timeout_ms=500).values():
                for r in records:
                    ids.setdefault(key(r), []).append(f"{r.partition}:{r.offset}")
        return ids
    finally:
        consumer.close()


class _Trail:
    """A structlog processor keeping the consume loops' and transactions'
    last events (rewinds, commits, aborts), for the failure message: the
    test's captured output is too long to be read whole."""

    EVENTS = frozenset({"batch_rewound", "batch_rewind_skipped", "batch_transaction_committed",
                        "batch_transaction_aborted", "batch_transaction_abandoned", "batch_not_delivered",
                        "batch_delivered_again", "idle_committed", "idle_commit_skipped", "batch_commit_refused"})

    def __init__(self) -> None:
        self.lines: collections.deque[str] = collections.deque(maxlen=1000)

    def __call__(self, logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
        if event.get("event") in self.EVENTS:
            fields = " ".join(f"{k}={str(v)[:160]}" for k, v in event.items() if k not in ("event", "timestamp", "level"))
            self.lines.append(f"{time.strftime('%H:%M:%S')} [{threading.current_thread().name}] {event['event']} {fields}")
        return event

    def around_the_outage(self) -> str:
        """From a few events before the first failed batch to 60 after it."""
        lines = list(self.lines)
        first = next((i for i, line in enumerate(lines) if "batch_not_delivered" in line), 0)
        return "\n".join(lines[max(0, first - 8):first + 60])


@pytest.fixture
def trail() -> Any:
    kept = _Trail()
    processors = structlog.get_config()["processors"]
    structlog.configure(processors=[kept, *processors])
    try:
        yield kept
    finally:
        structlog.configure(processors=processors)


_BATCH = re.compile(r"baseOffset: (\d+) lastOffset: (\d+).*?producerId: (-?\d+) producerEpoch: (-?\d+).*?"
                    r"isTransactional: (\w+) isControl: (\w+)")
_MARKER = re.compile(r"endTxnMarker: (\w+)")


def _transaction_fates(private: Settings, topic: str, places: list[str]) -> list[str]:
    """What the broker's own log says of the records at ``places``
    (``partition:offset``): their producer, epoch, and the first transaction
    marker of that producer after them, read with Kafka's DumpLogSegments, so
    that a record the client skips is told apart from one Kafka aborted."""
    java, cp = str(find_jdk(17).java), classpath(kafka_lib(manager.cache_dir(private)))
    data = Path(private.stack_dir) / "run" / "kafka" / "data"
    out = []
    for partition in sorted({int(place.split(":")[0]) for place in places}):
        files = sorted(str(f) for f in (data / f"{topic}-{partition}").glob("*.log"))
        dump = subprocess.run([java, "-cp", cp, "kafka.tools.DumpLogSegments", "--deep-iteration", "--files",
                               ",".join(files)], capture_output=True, text=True, timeout=120).stdout
        batches: list[tuple[int, int, str, str, bool, str | None]] = []
        for line in dump.splitlines():
            if (b := _BATCH.search(line)):
                batches.append((int(b[1]), int(b[2]), b[3], b[4], b[6] == "true", None))
            elif (m := _MARKER.search(line)) and batches and batches[-1][4]:
                batches[-1] = (*batches[-1][:5], m[1])
        for place in places:
            part, offset = (int(x) for x in place.split(":"))
            if part != partition:
                continue
            hit = next((b for b in batches if b[0] <= offset <= b[1]), None)
            if hit is None:
                out.append(f"{place}: not in the log")
                continue
            fate = next((f"{b[5]} (epoch {b[3]}) at {b[0]}" for b in batches
                         if b[0] > hit[1] and b[4] and b[2] == hit[2]), "no marker yet")
            out.append(f"{place}: producer {hit[2]} epoch {hit[3]} -> {fate}")
    return out


def _where_pages_stand(settings: Settings, engine: Any, expected: set[str], feeder: Feeder,
                       private: Settings) -> str:
    """Where the pages not indexed are (fed, in the articles topic as each
    kind of consumer sees it, the groups' offsets) and what the stages'
    threads are doing: a failure of this test must say lost or stalled, and where."""
    lines = [f"feeder: {feeder.acked} acknowledged, errors {feeder.errors[:3]}"]
    missing = expected - set(_indexed_ids(engine, settings.articles_alias))
    lines.append(f"not indexed: {len(missing)} of {len(expected)}")
    try:
        pages = _topic_ids(settings, settings.topic_pages, "read_committed",
                           lambda r: document_id(decode(r.value, FetchedPage).url))
        lines.append(f"pages of those not indexed at: {sorted(at for i in missing for at in pages.get(i, ['?']))}")
        for isolation in ("read_committed", "read_uncommitted"):
            ids = _topic_ids(settings, settings.topic_articles, isolation, lambda r: r.key.decode())
            lines.append(f"articles topic ({isolation}): {len(ids.keys() & expected)} of the pages, "
                         f"{len(missing & ids.keys())} of those not indexed, at "
                         f"{sorted(at for i in missing for at in ids.get(i, []))[:40]}")
            if isolation == "read_uncommitted":
                places = sorted(at for i in missing for at in ids.get(i, []))[:40]
                lines.extend(_transaction_fates(private, settings.topic_articles, places))
        for group, topic in ((settings.ingest_group_id, settings.topic_pages),
                             (settings.indexer_group_id, settings.topic_articles)):
            committed, end = committed_and_end_offsets(settings, str(group), topic)
            lines.append(f"group {group} on {topic}: committed {committed}, end {end}")
    except Exception as exc:  # noqa: BLE001 - the diagnosis must not hide the failure
        lines.append(f"Kafka unreadable: {exc!r}")
    frames = sys._current_frames()  # noqa: SLF001 - where each stage is waiting
    for thread in threading.enumerate():
        if thread.name.startswith(("ingest-under-test", "indexer-under-test", "batch-finish")) and thread.ident in frames:
            lines.append(f"thread {thread.name}:\n" + "".join(traceback.format_stack(frames[thread.ident])[-8:]))
    return "\n".join(lines)


def test_kafka_stopped_for_30s_mid_run_no_stage_ends_and_every_page_is_indexed_once(
    settings: Settings, private_kafka: Settings, trail: _Trail
) -> None:
    s = settings.model_copy(update={
        "kafka_bootstrap_servers": manager.SERVICES["kafka"].endpoint(private_kafka),
        # small batches: several are in flight when the broker goes away
        "batch_max_records": 10,
        # shorter than the outage: the group is left and joined again
        "kafka_max_poll_interval_ms": 20_000,
    })
    ensure_topics(s)
    pages = generated_pages(PAGES)
    values = [encode(_fetched(body, page.url, page.source or "outage")) for body, page in pages]
    expected = {document_id(page.url) for _, page in pages}
    assert len(expected) == PAGES

    ingest_stop = threading.Event()
    ingest_outcome: dict[str, Any] = {}

    def ingest() -> None:
        try:
            ingest_outcome["stats"] = run_ingest(s, stop=ingest_stop)
        except BaseException as exc:  # the test fails on any exception
            ingest_outcome["error"] = exc

    engine = open_engine(s.search_url, timeout_s=10.0)
    indexer = IndexerThread(s, engine)
    ingest_thread = threading.Thread(target=ingest, name="ingest-under-test", daemon=True)
    feeder = Feeder(s, values, per_s=16.0)
    try:
        ingest_thread.start()
        indexer.thread.start()
        feeder.thread.start()
        wait_for(lambda: len(_indexed_ids(engine, s.articles_alias)) >= 20, 120, "the first documents indexed")
        assert feeder.acked < PAGES, "every page was fed before the broker could be stopped"
        manager.down(private_kafka, ["kafka"])
        down_at = time.monotonic()
        while time.monotonic() - down_at < OUTAGE_S:
            assert ingest_thread.is_alive(), f"the ingest worker ended during the outage: {ingest_outcome}"
            assert indexer.thread.is_alive(), f"the indexer ended during the outage: {indexer.outcome}"
            time.sleep(1.0)
        manager.up(private_kafka, ["kafka"])
        wait_for(lambda: not feeder.thread.is_alive(), 180, "every page fed")
        try:
            wait_for(lambda: len(_indexed_ids(engine, s.articles_alias)) >= PAGES
                     or not ingest_thread.is_alive() or not indexer.thread.is_alive(), 240, "every page indexed")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{_where_pages_stand(s, engine, expected, feeder, private_kafka)}\n"
                                 "the stages' offset events around the outage:\n" + trail.around_the_outage()) from None
        assert ingest_thread.is_alive() and not ingest_outcome, ingest_outcome
        assert indexer.thread.is_alive() and not indexer.outcome, indexer.outcome
        ids = _indexed_ids(engine, s.articles_alias)
        assert len(ids) == len(set(ids)) == PAGES, "a page lost or indexed twice"
        assert set(ids) == expected
    finally:
        ingest_stop.set()
        indexer.stop.set()
        ingest_thread.join(timeout=120)
        indexer.thread.join(timeout=120)
        engine.close()
    assert "error" not in ingest_outcome, ingest_outcome.get("error")
    assert "error" not in indexer.outcome, indexer.outcome.get("error")
    stats: IngestStats = ingest_outcome["stats"]
    assert stats.articles >= PAGES, "every page became an article (replays may add more)"

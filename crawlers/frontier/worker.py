"""The frontier thread of one crawler process.

Scrapy's event loop must never wait on Kafka or the search engine, and
kafka-python's consumer belongs to one thread; so one thread here does all
of the frontier's blocking work, in a loop:

1. consume the links that crawlers published for the hosts this process
   owns and record the new ones in the status index, then commit;
2. write the status updates of finished fetches (after the page was
   acknowledged by Kafka) and forget those URLs;
3. register the sources' listings for newly owned hosts;
4. ask the status index for due URLs and hand them to Scrapy's thread.

Scrapy's thread publishes links (the producer is thread-safe), queues
updates and takes the due URLs from ``take_ready``.
"""
from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import structlog
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.errors import KafkaError

from ingest.engines.errors import EngineError
from ingest.batch_loop import is_transient, next_offsets
from ingest.kafka_io import ContractError, decode, encode, excerpt, make_consumer, make_producer
from ingest.models import DeadLetter, FrontierLink
from ingest.observability import ConsumerLag
from ingest.settings import Settings

from crawlers.frontier.ownership import Ownership, host_partition
from crawlers.frontier.status import UrlStatus, from_link
from crawlers.frontier.store import StatusStore

log = structlog.get_logger(__name__)

# How long a process that loses hosts waits for their requests in flight to
# finish and be recorded, so the new owner does not fetch them again.
REVOKE_GRACE_S = 10.0
# Longest a process holds hosts it is giving up for their delay to run out
# (a larger Crawl-delay is honoured by the next owner's own gate).
MAX_QUIET_WAIT_S = 60.0
REJOIN_AFTER_S = 30.0


def _first_offsets(records: Sequence[Any]) -> dict[TopicPartition, int]:
    first: dict[TopicPartition, int] = {}
    for r in records:
        tp = TopicPartition(r.topic, r.partition)
        first[tp] = min(first.get(tp, r.offset), r.offset)
    return first


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, worker: FrontierWorker) -> None:
        self.worker = worker

    def on_partitions_revoked(self, revoked: Sequence[TopicPartition]) -> None:
        self.worker._on_revoked({tp.partition for tp in revoked})

    def on_partitions_assigned(self, assigned: Sequence[TopicPartition]) -> None:
        self.worker._on_assigned({tp.partition for tp in assigned})


class FrontierWorker:
    def __init__(
        self,
        settings: Settings,
        store: StatusStore,
        listings: Callable[[], tuple[int, list[FrontierLink]]],
        *,
        quiet_in: Callable[[set[int]], float] | None = None,
        client_id: str = "rasd-crawler",
    ) -> None:
        self.settings = settings
        self.store = store
        self._listings = listings
        self._quiet_in = quiet_in
        self.client_id = client_id
        self.ownership = Ownership(settings.frontier_partitions)
        self.producer: KafkaProducer | None = None
        self._consumer: KafkaConsumer | None = None
        self._updates: queue.SimpleQueue[UrlStatus] = queue.SimpleQueue()
        self._pending_updates: dict[str, UrlStatus] = {}
        self._released: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._ready: deque[UrlStatus] = deque()
        self._in_flight: dict[str, str] = {}  # status id -> host
        self._in_flight_lock = threading.Lock()
        self._listings_version: object = None
        self._registered: frozenset[int] = frozenset()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None
        self._beat = time.monotonic()
        self._lag = ConsumerLag(settings.crawler_group_id, settings.metrics_lag_interval_s)
        self._unassigned_since: float | None = None
        self.stats = {"links_consumed": 0, "links_new": 0, "due_taken": 0, "updates_written": 0}

    # -- lifecycle (Scrapy's thread) -------------------------------------------

    def start(self) -> None:
        self.store.ensure()
        self.producer = make_producer(self.settings, client_id=self.client_id)
        self._consumer = self._new_consumer()
        self._thread = threading.Thread(target=self._run, name="rasd-frontier", daemon=True)
        self._thread.start()

    def _new_consumer(self) -> KafkaConsumer:
        consumer = make_consumer(self.settings, self.settings.topic_frontier, self.settings.crawler_group_id, self.client_id)
        consumer.unsubscribe()
        # Know the topic's partitions before joining: a group leader that does
        # not yet know them hands out an empty assignment and the group has
        # to rebalance again at once.
        deadline = time.monotonic() + 30
        while not consumer.partitions_for_topic(self.settings.topic_frontier):
            if time.monotonic() > deadline:
                consumer.close(autocommit=False)
                raise RuntimeError(f"topic {self.settings.topic_frontier} has no partitions (run ensure_topics first)")
            time.sleep(0.2)
        consumer.subscribe([self.settings.topic_frontier], listener=_Rebalance(self))
        return consumer

    def _rejoin_if_left_out(self) -> None:
        """kafka-python 3.0 has been seen to stay out of the group after a
        rebalance (no assignment, ever, while the loop spins): a process
        without hosts for REJOIN_AFTER_S starts a new consumer. Processes
        beyond the partition count are idle by design and rejoin now and
        then; keep RASD_FRONTIER_PARTITIONS above the crawler count."""
        now = time.monotonic()
        if self.ownership.owned:
            self._unassigned_since = None
            return
        if self._unassigned_since is None:
            self._unassigned_since = now
            return
        if now - self._unassigned_since < REJOIN_AFTER_S:
            return
        log.warning("frontier_rejoining", seconds_without_hosts=round(now - self._unassigned_since, 1))
        assert self._consumer is not None
        try:
            self._consumer.close(autocommit=False)
        except Exception as exc:  # noqa: BLE001 - the old membership is gone anyway
            log.warning("frontier_consumer_close_failed", error=repr(exc))
        self._consumer = self._new_consumer()
        self._unassigned_since = now

    def stop(self, timeout_s: float = 60.0) -> None:
        """Write what is pending, commit, leave the group (its hosts move
        to the other processes at once), close. Idempotent."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
        if self.producer is not None:
            try:
                self.producer.flush(timeout=30)
            finally:
                self.producer.close(timeout=10)
                self.producer = None

    @property
    def stalled_for(self) -> float:
        """Seconds since the frontier loop last came round (a loop stuck in
        the Kafka client or the engine shows here; rebalance waits are
        bounded well below what the spider tolerates)."""
        return time.monotonic() - self._beat

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- Scrapy's side ---------------------------------------------------------

    def publish(self, links: Sequence[FrontierLink]) -> list[Any]:
        """Send links to their hosts' owners (asynchronously); returns the
        send futures."""
        assert self.producer is not None
        return [
            self.producer.send(
                self.settings.topic_frontier,
                value=encode(link),
                key=link.host.encode("utf-8"),
                partition=host_partition(link.host, self.settings.frontier_partitions),
            )
            for link in links
        ]

    def take_ready(self, limit: int = 1000) -> list[UrlStatus]:
        out: list[UrlStatus] = []
        while self._ready and len(out) < limit:
            out.append(self._ready.popleft())
        return out

    def update(self, record: UrlStatus) -> None:
        """Record the outcome of a fetch (any thread); the URL stays in
        flight until the write is searchable."""
        self._updates.put(record)

    def release(self, status_id: str) -> None:
        """Forget a URL without writing (its request was dropped)."""
        self._released.put(status_id)

    def has_article(self, status_id: str) -> bool:
        """Fetched already (the status index says so) or in this process's
        hands right now. Blocking: call it off Scrapy's thread."""
        if status_id in self._in_flight:
            return True
        found = self.store.get([status_id]).get(status_id)
        return found is not None and found.status == "fetched"

    def in_flight(self) -> int:
        return len(self._in_flight)

    def owns(self, host: str) -> bool:
        return self.ownership.owns(host)

    # -- the frontier thread ---------------------------------------------------

    def _run(self) -> None:
        assert self._consumer is not None
        tick_ms = int(self.settings.crawl_frontier_tick_s * 1000)
        outage = 0
        try:
            while not self._stop.is_set():
                self._beat = time.monotonic()
                try:
                    self._round(tick_ms)
                    outage = 0
                except EngineError as exc:
                    if not exc.retryable:
                        raise
                    # the status index is away for a while: keep what is
                    # pending, wait, try again (Scrapy goes on with what it has)
                    outage += 1
                    wait = min(30.0, 0.5 * 2 ** min(outage, 6))
                    log.warning("status_index_unavailable", error=str(exc), retry_in_s=wait)
                    self._stop.wait(wait)
                except KafkaError as exc:
                    if not is_transient(exc):
                        raise
                    # Kafka is away (or the group moved on): links recorded
                    # but not committed are read again, which add_new makes
                    # harmless; a refused commit is covered by a later one
                    outage += 1
                    wait = min(30.0, 0.5 * 2 ** min(outage, 6))
                    log.warning("frontier_kafka_unavailable", error=repr(exc), retry_in_s=wait)
                    self._stop.wait(wait)
            self._flush_updates_on_stop()
            self._consumer.commit()
            self._wait_quiet(self.ownership.owned)
        except BaseException as exc:  # noqa: BLE001 - reported to the spider, which closes
            self.error = exc
            log.error("frontier_failed", error=repr(exc))
        finally:
            try:
                self._consumer.close(autocommit=False)
            except Exception as exc:  # noqa: BLE001
                log.warning("frontier_consumer_close_failed", error=repr(exc))

    def _round(self, tick_ms: int) -> None:
        self._rejoin_if_left_out()
        assert self._consumer is not None
        polled = self._consumer.poll(timeout_ms=tick_ms)
        self._lag.update(self._consumer)
        records = [r for part in polled.values() for r in part]
        if records:
            try:
                self._record_links(records)
            except Exception:
                # not recorded: read these links again on the next round
                for tp, offset in _first_offsets(records).items():
                    self._consumer.seek(tp, offset)
                raise
            self._consumer.commit(offsets=next_offsets(records))
        self._apply_updates()
        self._register_listings()
        self._take_due()

    def _flush_updates_on_stop(self) -> None:
        for attempt in range(5):
            try:
                self._apply_updates()
                return
            except EngineError as exc:
                if not exc.retryable or attempt == 4:
                    raise
                time.sleep(1.0 * 2**attempt)

    def _record_links(self, records: Sequence[Any]) -> None:
        fresh: dict[str, UrlStatus] = {}
        for r in records:
            try:
                link = decode(r.value, FrontierLink)
            except ContractError as exc:
                self._dead_letter(r, str(exc))
                continue
            rec = from_link(link, self.settings.frontier_partitions)
            fresh.setdefault(rec.id, rec)
        self.stats["links_consumed"] += len(records)
        if fresh:
            self.stats["links_new"] += self.store.add_new(list(fresh.values()))

    def _dead_letter(self, record: Any, detail: str) -> None:
        assert self.producer is not None
        letter = DeadLetter(
            stage="crawl",
            reason="invalid_message",
            detail=detail,
            input_topic=record.topic,
            input_partition=record.partition,
            input_offset=record.offset,
            payload_excerpt=excerpt(record.value),
        )
        key = letter.key
        self.producer.send(self.settings.topic_dead_letters, value=encode(letter), key=key.encode() if key else None)
        log.warning("frontier_invalid_link", detail=detail, offset=record.offset, partition=record.partition)

    def _apply_updates(self) -> None:
        # updates wait here until the index took them (kept across failures)
        batch = self._pending_updates
        while True:
            try:
                rec = self._updates.get_nowait()
            except queue.Empty:
                break
            batch[rec.id] = rec
        if batch:
            self.store.write(list(batch.values()))
            self.stats["updates_written"] += len(batch)
        done = list(batch)
        self._pending_updates = {}
        while True:
            try:
                done.append(self._released.get_nowait())
            except queue.Empty:
                break
        if done:
            with self._in_flight_lock:
                for status_id in done:
                    self._in_flight.pop(status_id, None)

    def _register_listings(self) -> None:
        """The sources' own listings, for the hosts this process owns, are
        recorded once (new ones only: a known listing keeps its schedule)."""
        owned = self.ownership.owned
        sources_version, listings = self._listings()
        version = (sources_version, owned)
        if version == self._listings_version:
            return
        mine = [
            from_link(link, self.settings.frontier_partitions)
            for link in listings
            if host_partition(link.host, self.settings.frontier_partitions) in owned
        ]
        if mine:
            added = self.store.add_new(mine)
            if added:
                log.info("listings_registered", new=added, owned_partitions=len(owned))
        self._listings_version = version

    def _take_due(self) -> None:
        owned = self.ownership.owned
        if not owned:
            return
        per_host = self.settings.crawl_queue_per_host
        with self._in_flight_lock:
            busy: dict[str, int] = {}
            for host in self._in_flight.values():
                busy[host] = busy.get(host, 0) + 1
        full = [h for h, n in busy.items() if n >= per_host]
        due = self.store.due(owned, per_host=per_host, exclude_hosts=full)
        taken = 0
        with self._in_flight_lock:
            for rec in due:
                if rec.id in self._in_flight or busy.get(rec.host, 0) >= per_host:
                    continue
                if not self.ownership.owns(rec.host):
                    continue
                self._in_flight[rec.id] = rec.host
                busy[rec.host] = busy.get(rec.host, 0) + 1
                self._ready.append(rec)
                taken += 1
        self.stats["due_taken"] += taken

    # -- rebalances (inside poll, in the frontier thread) ------------------------

    def _on_revoked(self, partitions: set[int]) -> None:
        self.ownership.assign(self.ownership.owned - partitions)
        # URLs not yet handed to Scrapy go back to the index as they are
        dropped = [r.id for r in self._ready if r.partition in partitions]
        self._ready = deque(r for r in self._ready if r.partition not in partitions)
        with self._in_flight_lock:
            for status_id in dropped:
                self._in_flight.pop(status_id, None)
        # Wait for the revoked hosts' requests in flight to be recorded.
        deadline = time.monotonic() + REVOKE_GRACE_S
        while time.monotonic() < deadline:
            self._apply_updates()
            with self._in_flight_lock:
                pending = sum(
                    1 for host in self._in_flight.values()
                    if host_partition(host, self.settings.frontier_partitions) in partitions
                )
            if not pending:
                break
            time.sleep(0.05)
        self._wait_quiet(partitions)
        log.info("hosts_revoked", partitions=sorted(partitions), dropped_ready=len(dropped))

    def _wait_quiet(self, partitions: set[int] | frozenset[int]) -> None:
        """Hold on to hosts until their politeness delay has run out, so the
        next owner's first request cannot come too soon after ours."""
        if self._quiet_in is None or not partitions:
            return
        wait = min(MAX_QUIET_WAIT_S, self._quiet_in(set(partitions)))
        if wait > 0:
            log.info("hosts_handover_wait", seconds=round(wait, 2), partitions=len(partitions))
            time.sleep(wait)

    def _on_assigned(self, partitions: set[int]) -> None:
        acquired = partitions - self.ownership.owned
        self.ownership.assign(partitions)
        self._listings_version = None
        log.info("hosts_assigned", partitions=sorted(partitions), new=sorted(acquired))

"""Helpers for the indexer tests: articles, Kafka reads, and a TCP proxy that
holds bulk responses so a test can kill the indexer while a batch is indexed
but not yet committed."""
from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from ingest.kafka_io import Publisher, decode, make_producer
from ingest.models import Article, DeadLetter
from ingest.settings import Settings

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)


def make_article(n: int, *, title: str | None = None, body: str | None = None, **overrides: object) -> Article:
    fields: dict[str, object] = dict(
        id=f"{n:032x}",
        url=f"https://news.example.org/a/{n}",
        fetched_url=f"https://news.example.org/a/{n}?utm_source=feed",
        source="example-news",
        domain="news.example.org",
        title=title if title is not None else f"Article number {n}",
        body=body if body is not None else f"Body of article {n}. " * 20,
        language="en",
        published_at=T0 - timedelta(hours=n),
        date_source="page",
        fetched_at=T0,
        extracted_at=T0,
    )
    fields.update(overrides)
    return Article(**fields)  # type: ignore[arg-type]


def publish_articles(settings: Settings, articles: Iterable[Article]) -> None:
    publisher = Publisher(make_producer(settings, client_id="test-articles"))
    try:
        for article in articles:
            publisher.send(settings.topic_articles, article, key=article.id)
    finally:
        publisher.close()


def publish_raw(settings: Settings, values: Iterable[bytes | None]) -> None:
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
    try:
        for value in values:
            producer.send(settings.topic_articles, value=value, key=b"raw")
        producer.flush(30)
    finally:
        producer.close()


def read_dead_letters(settings: Settings, expected: int, timeout_s: float = 20.0) -> list[DeadLetter]:
    consumer = KafkaConsumer(
        settings.topic_dead_letters,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    letters: list[DeadLetter] = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                letters.extend(decode(r.value, DeadLetter) for r in records)
            if len(letters) >= expected:
                # a little longer, to catch letters that should not be there
                for records in consumer.poll(timeout_ms=1000).values():
                    letters.extend(decode(r.value, DeadLetter) for r in records)
                break
    finally:
        consumer.close()
    return letters


def committed_and_end_offsets(settings: Settings, group: str) -> tuple[dict[int, int | None], dict[int, int]]:
    """Per partition of the articles topic: the group's committed offset
    (None if never committed) and the end offset."""
    # A consumer that never subscribes only reads the group's offsets; it
    # does not join the group.
    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers, group_id=group, enable_auto_commit=False
    )
    try:
        partitions = sorted(consumer.partitions_for_topic(settings.topic_articles) or ())
        tps = [TopicPartition(settings.topic_articles, p) for p in partitions]
        end = {tp.partition: off for tp, off in consumer.end_offsets(tps).items()}
        committed = {tp.partition: consumer.committed(tp) for tp in tps}
        return committed, end
    finally:
        consumer.close(autocommit=False)


def fully_committed(settings: Settings, group: str) -> bool:
    """Whether ``group`` has committed the end of every articles partition."""
    committed, end = committed_and_end_offsets(settings, group)
    # an empty partition has nothing to commit
    return {p: c or 0 for p, c in committed.items()} == end


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that makes ``Settings()`` in a child process equal ``settings``."""
    env = dict(os.environ)
    for name, value in settings.model_dump().items():
        key = f"RASD_{name.upper()}"
        if value is None:
            env.pop(key, None)
        else:
            env[key] = str(value)
    return env


class BulkHoldingProxy:
    """Forwards TCP to a search engine; the response to each bulk request
    is held back for ``hold_s`` seconds. The engine has applied the bulk by
    then, the client just does not know it yet: the window of a crash between
    'indexed' and 'offsets committed'."""

    def __init__(self, upstream_url: str, hold_s: float, *, drop_bulk: bool = False) -> None:
        host_port = upstream_url.split("://", 1)[1].rstrip("/")
        host, port = host_port.rsplit(":", 1)
        self._upstream = (host, int(port))
        self._hold_s = hold_s
        # drop_bulk: cut the connection instead of forwarding a bulk request,
        # as an engine that dies under load would.
        self._drop_bulk = drop_bulk
        self._release = threading.Event()
        self.bulk_requests = 0
        self._server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}"
        self._sockets: list[socket.socket] = [self._server]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self._upstream)
            self._sockets += [client, upstream]
            hold = threading.Event()
            threading.Thread(target=self._pump_requests, args=(client, upstream, hold), daemon=True).start()
            threading.Thread(target=self._pump_responses, args=(upstream, client, hold), daemon=True).start()

    def _pump_requests(self, src: socket.socket, dst: socket.socket, hold: threading.Event) -> None:
        try:
            while data := src.recv(65536):
                # Clients wait for a response before the next request on a
                # connection, so a request line starts a chunk. opensearch-py
                # POSTs bulks, the elasticsearch client PUTs them.
                if data.startswith((b"POST /_bulk", b"PUT /_bulk")):
                    self.bulk_requests += 1
                    if self._drop_bulk:
                        break
                    hold.set()
                dst.sendall(data)
        except OSError:
            pass
        finally:
            _shutdown(dst)
            _shutdown(src)

    def _pump_responses(self, src: socket.socket, dst: socket.socket, hold: threading.Event) -> None:
        try:
            while data := src.recv(65536):
                if hold.is_set():
                    hold.clear()
                    self._release.wait(self._hold_s)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            _shutdown(dst)

    def close(self) -> None:
        self._release.set()
        for s in self._sockets:
            _shutdown(s)
            s.close()


def _shutdown(s: socket.socket) -> None:
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass

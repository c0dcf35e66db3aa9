"""Helpers for the indexer tests: articles, Kafka reads, and a TCP proxy that
holds bulk responses so a test can kill the indexer while a batch is indexed
but not yet committed."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TypeVar

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from pydantic import BaseModel

from ingest.kafka_connection import kafka_client_kwargs
from ingest.kafka_io import Publisher, decode, make_producer
from ingest.models import Article, DeadLetter
from ingest.settings import Settings

M = TypeVar("M", bound=BaseModel)

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
        fetched_at=T0,
        extracted_at=T0,
    )
    fields.update(overrides)
    return Article(**fields)  # type: ignore[arg-type]


def publish(settings: Settings, topic: str, keyed: Iterable[tuple[str | None, BaseModel]]) -> None:
    """Send (key, message) pairs to ``topic`` and wait for the acknowledgements."""
    publisher = Publisher(make_producer(settings, client_id="test-publish"))
    try:
        for key, message in keyed:
            publisher.send(topic, message, key=key)
    finally:
        publisher.close()


def publish_articles(settings: Settings, articles: Iterable[Article]) -> None:
    publish(settings, settings.topic_articles, ((article.id, article) for article in articles))


def publish_raw(settings: Settings, values: Iterable[bytes | None]) -> None:
    producer = KafkaProducer(**kafka_client_kwargs(settings), acks="all")
    try:
        for value in values:
            producer.send(settings.topic_articles, value=value, key=b"raw")
        producer.flush(30)
    finally:
        producer.close()


def read_keyed(
    settings: Settings, topic: str, model: type[M], expected: int, timeout_s: float = 20.0
) -> list[tuple[bytes | None, M]]:
    """(key, message) pairs from the start of ``topic``: ``expected`` of them,
    plus any that come shortly after (to catch messages that should not be there)."""
    consumer = KafkaConsumer(
        topic,
        **kafka_client_kwargs(settings),
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    messages: list[tuple[bytes | None, M]] = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                messages.extend((r.key, decode(r.value, model)) for r in records)
            if len(messages) >= expected:
                for records in consumer.poll(timeout_ms=1000).values():
                    messages.extend((r.key, decode(r.value, model)) for r in records)
                break
    finally:
        consumer.close()
    return messages


def read_dead_letters(settings: Settings, expected: int, timeout_s: float = 20.0) -> list[DeadLetter]:
    return [letter for _, letter in read_keyed(settings, settings.topic_dead_letters, DeadLetter, expected, timeout_s)]


def committed_and_end_offsets(
    settings: Settings, group: str, topic: str | None = None
) -> tuple[dict[int, int | None], dict[int, int]]:
    """Per partition of ``topic`` (default: the articles topic): the group's
    committed offset (None if never committed) and the end offset."""
    topic = topic or settings.topic_articles
    # A consumer that never subscribes only reads the group's offsets; it
    # does not join the group.
    consumer = KafkaConsumer(
        **kafka_client_kwargs(settings), group_id=group, enable_auto_commit=False
    )
    try:
        partitions = sorted(consumer.partitions_for_topic(topic) or ())
        tps = [TopicPartition(topic, p) for p in partitions]
        end = {tp.partition: off for tp, off in consumer.end_offsets(tps).items()}
        committed = {tp.partition: consumer.committed(tp) for tp in tps}
        return committed, end
    finally:
        consumer.close(autocommit=False)


def fully_committed(settings: Settings, group: str, topic: str | None = None) -> bool:
    """Whether ``group`` has committed the end of every partition of ``topic`` (default: articles)."""
    committed, end = committed_and_end_offsets(settings, group, topic)
    # an empty partition has nothing to commit
    return {p: c or 0 for p, c in committed.items()} == end


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that makes ``Settings()`` in a child process equal ``settings``."""
    env = dict(os.environ)
    for name, value in settings.dump_with_secrets().items():
        key = f"RASD_{name.upper()}"
        if value is None:
            env.pop(key, None)
        else:
            # lists are read back as JSON (crawl_allowed_networks ...)
            env[key] = json.dumps(value) if isinstance(value, (list, dict)) else str(value)
    return env


class BulkHoldingProxy:
    """Forwards TCP to a search engine; the response to each bulk request
    is held back for ``hold_s`` seconds. The engine has applied the bulk by
    then, the client just does not know it yet: the window of a crash between
    'indexed' and 'offsets committed'."""

    def __init__(self, upstream_url: str, hold_s: float, *, drop_bulk: bool = False, hold_from: int = 1) -> None:
        host_port = upstream_url.split("://", 1)[1].rstrip("/")
        host, port = host_port.rsplit(":", 1)
        self._upstream = (host, int(port))
        self._hold_s = hold_s
        # drop_bulk: cut the connection instead of forwarding a bulk request,
        # as an engine that dies under load would.
        self._drop_bulk = drop_bulk
        # hold_from: bulks before this one (1-based) pass untouched, so a
        # test can stop the indexer at a later step of a batch.
        self._hold_from = hold_from
        self._release = threading.Event()
        self.bulk_requests = 0
        self.held = threading.Event()
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
                    if self.bulk_requests >= self._hold_from:
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
                    self.held.set()
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


def sigkill_indexer_when(
    settings: Settings,
    engine_url: str,
    log_path: Path,
    ready: Callable[[BulkHoldingProxy], bool],
    *,
    hold_from: int = 1,
    timeout_s: float = 90.0,
) -> tuple[int | None, BulkHoldingProxy]:
    """Run ``python -m indexer`` behind a ``BulkHoldingProxy`` and SIGKILL it
    as soon as ``ready(proxy)`` holds; returns its exit code and the (closed)
    proxy. Fails with the child's log if it exits or never gets ready."""
    proxy = BulkHoldingProxy(engine_url, hold_s=timeout_s + 30, hold_from=hold_from)
    env = settings_env(settings) | {"RASD_SEARCH_URL": proxy.url}
    with open(log_path, "wb") as log:
        child = subprocess.Popen([sys.executable, "-m", "indexer"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout_s
        while child.poll() is None and not ready(proxy):
            assert time.monotonic() < deadline, f"never ready to be killed:\n{log_path.read_text()}"
            time.sleep(0.05)
        assert child.poll() is None, f"the indexer exited by itself:\n{log_path.read_text()}"
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
        proxy.close()
    return child.returncode, proxy


def _shutdown(s: socket.socket) -> None:
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class IndexerThread:
    """``run_indexer`` on a daemon thread (start it with ``thread.start()``),
    with ``stop`` to end it and ``outcome`` holding its ``stats`` or the
    ``error`` it raised, for the test's thread to assert on."""

    def __init__(self, settings: Settings, engine: object, **options: object) -> None:
        from indexer.worker import run_indexer

        self.stop = threading.Event()
        self.outcome: dict[str, object] = {}

        def run() -> None:
            try:
                self.outcome["stats"] = run_indexer(settings, engine, stop=self.stop, **options)  # type: ignore[arg-type]
            except BaseException as exc:  # the test fails on any exception
                self.outcome["error"] = exc

        self.thread = threading.Thread(target=run, name="indexer-under-test", daemon=True)

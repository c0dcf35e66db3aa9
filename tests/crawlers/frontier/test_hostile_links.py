"""Hostile messages on the frontier topic, on real Kafka and OpenSearch: the
real frontier thread of a crawler process dead-letters each one with its
position and records every good link around it in the URL status index,
then commits the topic. Nothing else tests invalid frontier messages."""
from __future__ import annotations

import json
import time

import pytest
from kafka import KafkaProducer

from crawlers.frontier.ownership import host_partition
from crawlers.frontier.status import status_id
from crawlers.frontier.store import StatusStore
from crawlers.frontier.worker import FrontierWorker
from ingest.engines.detect import open_client
from ingest.kafka_io import encode
from ingest.models import FrontierLink
from tests.indexer.support import fully_committed, make_article, read_dead_letters

pytestmark = pytest.mark.services

HOST = "hostile.example"


def _link(n: int) -> FrontierLink:
    return FrontierLink(url=f"https://{HOST}/news/{n}.html", kind="article", source="s", host=HOST)


def _link_json(**changes: object) -> bytes:
    data = json.loads(encode(_link(0)))
    data.update(changes)
    return json.dumps(data).encode()


HOSTILE: list[tuple[str, bytes | None, str]] = [
    ("non_utf8_bytes", b"\xff\xfe\x00\x01\x80 binary junk", "not a valid FrontierLink"),
    ("truncated_json", encode(_link(90))[:50], "not a valid FrontierLink"),
    ("unknown_kind", _link_json(kind="podcast"), "not a valid FrontierLink"),
    ("wrong_contract_version", _link_json(schema_version=2), "not a valid FrontierLink"),
    ("article_on_the_frontier_topic", encode(make_article(1)), "not a valid FrontierLink"),
    # its status id is the hash of its canonical URL, which cannot be made:
    # the frontier thread used to die on it, and on every restart again
    ("unsplittable_url", _link_json(url="http://[::1/x"), "not a URL"),
    ("tombstone", None, "tombstone"),
]


def test_each_hostile_message_on_the_frontier_topic_is_dead_lettered_and_the_links_around_it_recorded(
    settings, opensearch_url
):
    good = [_link(n) for n in range(len(HOSTILE) + 1)]
    client = open_client(opensearch_url, timeout_s=30.0)
    store = StatusStore(client, settings.crawl_status_index)
    worker = FrontierWorker(settings, store, lambda: (0, []), client_id="test-frontier")
    partition = host_partition(HOST, settings.frontier_partitions)
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
    try:
        worker.start()
        # one partition, the host's: each good link is read after the hostile one before it
        for n, link in enumerate(good):
            producer.send(settings.topic_frontier, value=encode(link), key=HOST.encode(), partition=partition)
            if n < len(HOSTILE):
                producer.send(settings.topic_frontier, value=HOSTILE[n][1], key=HOST.encode(), partition=partition)
        producer.flush(30)
        ids = [status_id("article", link.url) for link in good]
        deadline = time.monotonic() + 60
        while len(store.get(ids)) < len(ids):
            assert worker.alive, f"the frontier thread died: {worker.error!r}"
            assert time.monotonic() < deadline, f"{len(store.get(ids))} of {len(ids)} links recorded"
            time.sleep(0.2)
        deadline = time.monotonic() + 30
        while not fully_committed(settings, settings.crawler_group_id, settings.topic_frontier):
            assert time.monotonic() < deadline, "the frontier topic was not committed"
            time.sleep(0.2)
        assert worker.alive and worker.error is None
    finally:
        producer.close()
        worker.stop()
        client.delete_index(settings.crawl_status_index)
        client.close()

    assert worker.stats["links_consumed"] == len(good) + len(HOSTILE)
    letters = sorted(read_dead_letters(settings, len(HOSTILE)), key=lambda d: d.input_offset or 0)
    assert len(letters) == len(HOSTILE)
    for n, ((name, value, phrase), letter) in enumerate(zip(HOSTILE, letters), start=1):
        assert (letter.stage, letter.reason) == ("crawl", "invalid_message"), name
        assert phrase in letter.detail, (name, letter.detail)
        assert (letter.input_topic, letter.input_partition, letter.input_offset) == (
            settings.topic_frontier, partition, 2 * n - 1), name
        assert (letter.payload_excerpt is None) == (value is None), name

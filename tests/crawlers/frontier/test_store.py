"""The URL status index on both real engines."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from crawlers.frontier.status import after_article_fetch, from_link
from crawlers.frontier.store import StatusStore
from ingest.engines.detect import open_client
from ingest.models import FrontierLink, utcnow
from ingest.settings import Settings

pytestmark = pytest.mark.services
PARTITIONS = 12


@pytest.fixture(params=["opensearch", "elasticsearch"])
def store(request, opensearch_url, elasticsearch_url):
    url = opensearch_url if request.param == "opensearch" else elasticsearch_url
    client = open_client(url)
    s = StatusStore(client, f"t{uuid.uuid4().hex[:8]}-crawl-status")
    s.ensure()
    s.ensure()  # idempotent
    yield s
    client.delete_index(s.index)
    client.close()


def rec(host: str, n: int, kind: str = "article", **update):
    link = FrontierLink(url=f"http://{host}/news/{n}", kind=kind, source="s", host=host)
    return from_link(link, PARTITIONS).model_copy(update=update)


def test_known_urls_keep_their_record_when_discovered_again(store):
    first = rec("a.example", 1)
    assert store.add_new([first, rec("a.example", 2)]) == 2
    store.write([after_article_fetch(first, Settings(), http_status=200, etag='"x"', last_modified=None)])
    # a listing names it again: still fetched, nothing due
    assert store.add_new([rec("a.example", 1), rec("a.example", 3)]) == 1
    kept = store.get([first.id])[first.id]
    assert kept.status == "fetched" and kept.etag == '"x"' and kept.next_fetch_at is None


def test_due_urls_come_a_few_per_host_earliest_first_for_owned_partitions_only(store):
    now = utcnow()
    records = [rec("big.example", n, next_fetch_at=now - timedelta(seconds=100 - n)) for n in range(30)]
    records += [rec("small.example", n, next_fetch_at=now - timedelta(seconds=5)) for n in range(2)]
    records += [rec("later.example", 1, next_fetch_at=now + timedelta(hours=1))]
    store.add_new(records)
    everything = set(range(PARTITIONS))
    due = store.due(everything, per_host=4)
    by_host: dict[str, list] = {}
    for r in due:
        by_host.setdefault(r.host, []).append(r)
    # one big site cannot crowd out the others, nothing early comes back
    assert {h: len(v) for h, v in by_host.items()} == {"big.example": 4, "small.example": 2}
    assert [r.url for r in by_host["big.example"]] == [f"http://big.example/news/{n}" for n in range(4)]
    # only the partitions asked for
    big = records[0].partition
    assert {r.host for r in store.due(everything - {big}, per_host=4)} == {"small.example"} - (
        {"small.example"} if records[-2].partition == big else set()
    )
    assert store.due(set(), per_host=4) == []
    # hosts with enough work in hand are skipped
    assert {r.host for r in store.due(everything, per_host=4, exclude_hosts=["big.example"])} == {"small.example"}


def test_due_on_a_missing_index_is_empty(store):
    other = StatusStore(store.client, f"t{uuid.uuid4().hex[:8]}-missing")
    assert other.due({0, 1}, per_host=2) == []

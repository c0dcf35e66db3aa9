"""The shared per-site line counts on a real OpenSearch: what a line needs
to become known, and that workers sharing the index agree."""
from collections.abc import Iterator
from datetime import datetime, timezone

import pytest

from ingest.boilerplate import BoilerplateStore, SiteBoilerplate, doc_id, line_key
from ingest.engines.client import VendorClient
from ingest.engines.detect import open_client
from ingest.models import Article
from ingest.settings import Settings

PROMO = "احصل على خصم 30% على باقات الإنترنت المنزلي عند الاشتراك هذا الشهر."
SITE = "alkhabar.example"
WHEN = datetime(2026, 11, 18, 9, 0, tzinfo=timezone.utc)


def article(n: int, *, domain: str = SITE, promo: str = PROMO) -> Article:
    body = f"الفقرة الأولى من الخبر رقم {n} عن موضوع مختلف.\n{promo}\nالفقرة الثانية من الخبر رقم {n}."
    url = f"https://{domain}/news/{n}.html"
    return Article(id=f"{domain}-{n}", url=url, fetched_url=url, source=domain, domain=domain, body=body,
                   fetched_at=WHEN, extracted_at=WHEN)


@pytest.fixture
def client(settings: Settings, opensearch_url: str) -> Iterator[VendorClient]:
    client = open_client(opensearch_url, timeout_s=30.0)
    yield client
    if client.index_exists(settings.boilerplate_index):
        client.delete_index(settings.boilerplate_index)
    client.close()


@pytest.fixture
def store(client: VendorClient, settings: Settings) -> BoilerplateStore:
    store = BoilerplateStore(client, settings)
    store.ensure()
    return store


def ingest_one(store: BoilerplateStore, page: Article) -> bool:
    """Ask about one page and record it, as a one-page batch; was the promo known?"""
    sightings = store.known([page])
    store.record(sightings)
    return line_key(PROMO) in sightings.known[0]


def stored_pages(client: VendorClient, settings: Settings, domain: str = SITE) -> list[str]:
    doc = client.get_raw(settings.boilerplate_index, doc_id(domain, line_key(PROMO)))
    return doc["_source"]["pages"] if doc else []


def test_a_line_seen_on_four_pages_of_a_site_is_known_from_the_fifth_not_before(store):
    assert store.min_pages == 4
    assert [ingest_one(store, article(n)) for n in range(1, 7)] == [False, False, False, False, True, True]


def test_the_same_line_on_another_domain_is_not_known(store):
    for n in range(1, 6):
        ingest_one(store, article(n))
    assert ingest_one(store, article(1, domain="other-site.example")) is False


def test_replaying_the_same_page_does_not_count_it_twice(store, client, settings):
    for _ in range(5):
        assert ingest_one(store, article(1)) is False
    assert stored_pages(client, settings) == [f"{SITE}-1"]
    for n in range(2, 5):
        ingest_one(store, article(n))
    assert ingest_one(store, article(4)) is False, "three other pages only"


def test_an_article_never_counts_itself_and_is_cleaned_once_the_line_is_full(store, client, settings):
    for n in range(1, 5):
        ingest_one(store, article(n))
    assert ingest_one(store, article(1)) is False, "page 1 sees only the three others"
    assert ingest_one(store, article(5)) is True
    # one more id than the threshold is kept, so pages already listed are cleaned when replayed
    assert stored_pages(client, settings) == [f"{SITE}-{n}" for n in range(1, 6)]
    assert ingest_one(store, article(1)) is True
    ingest_one(store, article(6))
    assert len(stored_pages(client, settings)) == 5, "a full document is not written again"


def test_pages_of_one_batch_count_for_each_other(store):
    assert store.known([article(n) for n in range(1, 5)]).known == [frozenset()] * 4
    sightings = store.known([article(n) for n in range(1, 6)])
    assert sightings.known == [frozenset({line_key(PROMO)})] * 5
    assert sightings.stored == {}, "nothing was recorded by asking"


def test_two_workers_recording_at_once_converge(store, client, settings):
    other = BoilerplateStore(open_client(settings.search_url, timeout_s=30.0), settings)
    try:
        # both read before either writes: both create, the second gets a
        # conflict, reads again and adds its pages to the first one's
        first = store.known([article(1), article(2)])
        second = other.known([article(3), article(4)])
        store.record(first)
        other.record(second)
        assert sorted(stored_pages(client, settings)) == [f"{SITE}-{n}" for n in range(1, 5)]
        # the same for a conditional update of an existing document
        first = store.known([article(5)])
        second = other.known([article(6)])
        other.record(second)
        store.record(first)
        assert sorted(stored_pages(client, settings)) == sorted([f"{SITE}-{n}" for n in range(1, 5)] + [f"{SITE}-6"])
        assert ingest_one(other, article(7)) is True
        assert ingest_one(store, article(5)) is True, "the lost page 5 is not needed: four others are listed"
    finally:
        other.client.close()


def test_what_one_worker_learned_is_known_to_a_worker_started_later(settings, client):
    first = SiteBoilerplate(settings)
    try:
        cleaned = first.clean([article(n) for n in range(1, 6)])
    finally:
        first.close()
    assert [c.removed_lines for c in cleaned] == [1] * 5
    assert all(PROMO not in c.article.body for c in cleaned)

    restarted = SiteBoilerplate(settings)
    try:
        (only,) = restarted.clean([article(9)])
    finally:
        restarted.close()
    assert only.removed_lines == 1
    assert only.article.body == f"الفقرة الأولى من الخبر رقم 9 عن موضوع مختلف.\nالفقرة الثانية من الخبر رقم 9."


from datetime import datetime, timedelta, timezone

import pytest

from crawlers.frontier.ownership import host_partition
from crawlers.frontier.status import (
    POLL_HISTORY,
    after_article_fetch,
    after_failure,
    after_listing_poll,
    from_link,
    retired,
    status_id,
)
from ingest.identity import document_id
from ingest.models import FrontierLink
from ingest.settings import Settings

T0 = datetime(2026, 11, 27, 8, 0, tzinfo=timezone.utc)
HOST = "news.example"


def make_settings(**overrides) -> Settings:
    # every knob these rules read is given, so the environment cannot change them
    values = dict(
        crawl_poll_interval_s=600.0,
        crawl_poll_min_s=120.0,
        crawl_poll_max_s=3600.0,
        crawl_error_backoff_max_s=7200.0,
        crawl_refetch_after_s=[],
    )
    return Settings(**{**values, **overrides})


def record(kind="feed", url=f"https://{HOST}/rss", **update):
    rec = from_link(FrontierLink(url=url, kind=kind, source="daily", host=HOST), partitions=12, now=T0)
    return rec.model_copy(update=update)


def poll(rec, cfg, *, status=200, body_hash="h1", etag=None, last_modified=None, at=T0, source_interval_s=None):
    return after_listing_poll(
        rec, cfg, http_status=status, body_hash=body_hash, links=3, etag=etag,
        last_modified=last_modified, source_interval_s=source_interval_s, now=at,
    )


def fail(rec, cfg, *, permanent=False, status=None, at=T0):
    return after_failure(rec, cfg, error="boom", http_status=status, source_interval_s=None, permanent=permanent, now=at)


# -- identity ----------------------------------------------------------------


def test_article_status_id_is_the_document_id_of_its_url():
    url = "https://News.Example/ar/news/123?utm_source=x"
    assert status_id("article", url) == document_id(url) == document_id("https://news.example/ar/news/123")


def test_listing_ids_hash_the_exact_url():
    urls = ["https://news.example/rss", "https://news.example/rss/", "https://news.example/rss?utm_source=x"]
    assert len({status_id("feed", u) for u in urls}) == 3
    assert status_id("feed", urls[0]) == status_id("feed", urls[0])


def test_from_link_is_due_now_on_its_hosts_partition():
    rec = record(kind="article", url=f"https://{HOST}/news/1")
    assert rec.partition == host_partition(HOST, 12)
    assert rec.next_fetch_at == T0 == rec.first_seen_at
    assert (rec.status, rec.source, rec.fetch_url) == ("discovered", "daily", f"https://{HOST}/news/1")
    assert rec.id == document_id(f"https://{HOST}/news/1")


# -- listings -----------------------------------------------------------------


def test_a_changed_listing_is_polled_twice_as_often():
    rec = poll(record(interval_s=1000.0), make_settings(), body_hash="new")
    assert rec.interval_s == 500.0
    assert rec.next_fetch_at == T0 + timedelta(seconds=500)
    assert rec.polls[-1].changed


@pytest.mark.parametrize(("status", "body_hash"), [(304, None), (200, "same")])
def test_an_unchanged_listing_is_polled_less_often(status, body_hash):
    rec = poll(record(interval_s=1000.0, content_hash="same"), make_settings(), status=status, body_hash=body_hash)
    assert rec.interval_s == 1500.0
    assert rec.content_hash == "same"
    assert not rec.polls[-1].changed


def test_poll_interval_stays_within_bounds():
    cfg = make_settings()
    assert poll(record(interval_s=200.0), cfg, body_hash="new").interval_s == cfg.crawl_poll_min_s
    assert poll(record(interval_s=3000.0, content_hash="h1"), cfg).interval_s == cfg.crawl_poll_max_s


def test_first_poll_starts_from_the_source_interval_or_the_default():
    cfg = make_settings()
    assert poll(record(), cfg, status=304).interval_s == 900.0  # 600 * 1.5
    assert poll(record(), cfg, status=304, source_interval_s=1000.0).interval_s == 1500.0


def test_validators_are_kept_when_a_304_omits_them():
    rec = poll(record(), make_settings(), etag='"v1"', last_modified="Thu, 26 Nov 2026 10:00:00 GMT")
    rec = poll(rec, make_settings(), status=304, body_hash=None)
    assert rec.etag == '"v1"'
    assert rec.last_modified == "Thu, 26 Nov 2026 10:00:00 GMT"
    assert poll(rec, make_settings(), etag='"v2"').etag == '"v2"'


def test_poll_history_is_capped():
    rec, cfg = record(), make_settings()
    for i in range(POLL_HISTORY + 5):
        rec = poll(rec, cfg, body_hash=str(i), at=T0 + timedelta(minutes=i))
    assert len(rec.polls) == POLL_HISTORY
    assert rec.polls[-1].at == T0 + timedelta(minutes=POLL_HISTORY + 4)


def test_a_failing_listing_backs_off_exponentially_and_stays_scheduled():
    rec, cfg = record(interval_s=1000.0), make_settings(crawl_error_backoff_max_s=5000.0)
    waits = []
    for _ in range(5):
        rec = fail(rec, cfg, status=503)
        waits.append((rec.next_fetch_at - T0).total_seconds())
    assert waits == [1000.0, 2000.0, 4000.0, 5000.0, 5000.0]
    assert (rec.status, rec.consecutive_errors, rec.last_http_status) == ("failed", 5, 503)
    assert rec.polls[-1].error == "boom"


def test_a_listing_that_failed_for_good_waits_the_longest_backoff_at_once_and_stays_scheduled():
    rec = fail(record(interval_s=1000.0), make_settings(crawl_error_backoff_max_s=5000.0), permanent=True)
    assert (rec.next_fetch_at - T0).total_seconds() == 5000.0


def test_a_successful_poll_clears_the_errors():
    rec = fail(record(), make_settings())
    rec = poll(rec, make_settings())
    assert (rec.status, rec.consecutive_errors, rec.last_error) == ("fetched", 0, None)


# -- articles -----------------------------------------------------------------


def test_an_article_that_failed_for_good_is_not_fetched_again():
    rec = fail(record(kind="article", url=f"https://{HOST}/news/1"), make_settings(), permanent=True, status=404)
    assert rec.next_fetch_at is None
    assert rec.status == "failed"


def test_a_transient_article_failure_is_retried_later_then_given_up_after_four():
    rec, cfg = record(kind="article", url=f"https://{HOST}/news/1"), make_settings()
    waits = []
    for _ in range(3):
        rec = fail(rec, cfg)
        waits.append((rec.next_fetch_at - T0).total_seconds())
    assert waits == [60.0, 240.0, 960.0]
    rec = fail(rec, cfg)
    assert rec.consecutive_errors == 4
    assert rec.next_fetch_at is None


def test_without_refetch_plan_an_article_is_fetched_once():
    rec = after_article_fetch(record(kind="article", url=f"https://{HOST}/news/1"), make_settings(),
                              http_status=200, etag=None, last_modified=None, now=T0)
    assert (rec.status, rec.fetch_count, rec.next_fetch_at) == ("fetched", 1, None)


def test_refetches_are_anchored_on_the_first_fetch():
    cfg = make_settings(crawl_refetch_after_s=[86400, 3600])  # order does not matter
    rec = record(kind="article", url=f"https://{HOST}/news/1")

    def fetch(rec, at):
        return after_article_fetch(rec, cfg, http_status=200, etag=None, last_modified=None, now=at)

    rec = fetch(rec, T0)
    assert rec.next_fetch_at == T0 + timedelta(hours=1)
    # fetched late: the next one is still a day after the first fetch, not after this one
    rec = fetch(rec, T0 + timedelta(hours=2))
    assert rec.next_fetch_at == T0 + timedelta(days=1)
    rec = fetch(rec, T0 + timedelta(days=1))
    assert (rec.fetch_count, rec.next_fetch_at) == (3, None)


def test_a_failed_attempt_does_not_use_up_a_planned_refetch():
    # the plan counts from the first successful fetch; a timeout before it fetched nothing
    cfg = make_settings(crawl_refetch_after_s=[3600, 86400])
    rec = fail(record(kind="article", url=f"https://{HOST}/news/1"), cfg)
    first = T0 + timedelta(minutes=1)
    rec = after_article_fetch(rec, cfg, http_status=200, etag=None, last_modified=None, now=first)
    assert rec.next_fetch_at == first + timedelta(hours=1)


def test_retired_listing_is_never_polled_again():
    rec = retired(poll(record(), make_settings()), "removed from sources")
    assert (rec.status, rec.next_fetch_at, rec.last_error) == ("retired", None, "removed from sources")

from scrapy import Request
from scrapy.utils.test import get_crawler

from crawlers.dupefilter import ARTICLE_META, CanonicalUrlDupeFilter


def make_filter() -> CanonicalUrlDupeFilter:
    return CanonicalUrlDupeFilter.from_crawler(get_crawler())


def article(url: str, redirect_urls: list[str] | None = None) -> Request:
    meta = {ARTICLE_META: True}
    if redirect_urls:
        meta["redirect_urls"] = redirect_urls
    return Request(url, meta=meta)


def test_same_article_with_and_without_tracking_parameters_is_seen_once():
    dupefilter = make_filter()
    assert not dupefilter.request_seen(article("https://news.example/a/1?utm_source=rss&utm_medium=feed"))
    assert dupefilter.request_seen(article("https://news.example/a/1"))
    assert dupefilter.request_seen(article("https://NEWS.example/a/1#comments"))
    assert dupefilter.stats.get_value("rasd/duplicate_articles") == 2


def test_redirect_target_already_fetched_from_another_listing_is_filtered():
    dupefilter = make_filter()
    assert not dupefilter.request_seen(article("https://news.example/a/2"))
    assert not dupefilter.request_seen(article("https://news.example/go/2?utm_source=rss"))
    redirected = article("https://news.example/a/2", redirect_urls=["https://news.example/go/2?utm_source=rss"])
    assert dupefilter.request_seen(redirected)


def test_redirect_that_only_strips_tracking_parameters_is_not_a_duplicate_of_itself():
    dupefilter = make_filter()
    assert not dupefilter.request_seen(article("https://news.example/a/8?utm_source=rss"))
    redirected = article("https://news.example/a/8", redirect_urls=["https://news.example/a/8?utm_source=rss"])
    assert not dupefilter.request_seen(redirected)


def test_different_articles_are_not_duplicates():
    dupefilter = make_filter()
    assert not dupefilter.request_seen(article("https://news.example/a/1"))
    assert not dupefilter.request_seen(article("https://news.example/a/2"))
    assert not dupefilter.request_seen(article("https://news.example/item?id=1"))
    assert not dupefilter.request_seen(article("https://news.example/item?id=2"))


def test_non_article_requests_keep_scrapys_exact_filtering():
    dupefilter = make_filter()
    assert not dupefilter.request_seen(Request("https://news.example/feed.xml?utm_source=x"))
    assert not dupefilter.request_seen(Request("https://news.example/feed.xml"))
    assert dupefilter.request_seen(Request("https://news.example/feed.xml"))

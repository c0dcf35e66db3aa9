import asyncio
from datetime import datetime, timezone

import pytest
from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Response, TextResponse, XmlResponse
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from crawlers.discovery import ArticleLink, Hints
from crawlers.dupefilter import ARTICLE_META
from crawlers.sources import Source
from crawlers.spiders.news import NewsSpider
from ingest.models import DeadLetter, FetchedPage
from ingest.settings import Settings

SOURCE = Source(
    name="daily",
    feeds=["https://daily.example/rss"],
    sitemaps=["https://daily.example/robots.txt", "https://daily.example/sitemap.xml"],
    sections=["https://daily.example/politics/"],
    article_pattern=r"/news/",
    download_delay_s=1.0,
)
ARABIC = '<html lang="ar" dir="rtl"><body><h1>عنوان</h1></body></html>'.encode()


def make_spider(**settings) -> NewsSpider:
    crawler = get_crawler(NewsSpider, {"RASD_SETTINGS": Settings(**settings)})
    return NewsSpider.from_crawler(crawler, sources=[SOURCE])


def collect(records) -> list:
    """The items of a callback: feeds and sitemaps are parsed in a thread
    (async generators), the other listings are plain generators."""
    if not hasattr(records, "__aiter__"):
        return list(records)

    async def run() -> list:
        return [item async for item in records]

    return asyncio.run(run())


def respond(request: Request, body: bytes, cls=TextResponse, status=200, content_type="text/html; charset=utf-8"):
    return cls(request.url, status=status, headers={"Content-Type": content_type}, body=body, request=request)


def test_start_requests_cover_every_feed_sitemap_robots_and_section_with_their_callbacks():
    spider = make_spider()
    requests = list(spider.start_requests_for(spider.sources))
    by_url = {r.url: r for r in requests}
    assert by_url["https://daily.example/rss"].callback == spider.parse_feed
    assert by_url["https://daily.example/robots.txt"].callback == spider.parse_robots
    assert by_url["https://daily.example/sitemap.xml"].callback == spider.parse_sitemap
    assert by_url["https://daily.example/politics/"].callback == spider.parse_section
    assert all(r.errback == spider.listing_failed for r in requests)
    # a site with its own delay keeps it: AutoThrottle must not lower it
    assert all(r.meta["autothrottle_dont_adjust_delay"] for r in requests)


def test_feed_entries_become_article_requests_carrying_hints():
    spider = make_spider()
    feed = next(r for r in spider.start_requests_for(spider.sources) if r.url.endswith("/rss"))
    rss = (
        '<rss version="2.0"><channel><item><title>خبر</title><link>https://daily.example/news/1?utm_source=rss</link>'
        "<pubDate>Mon, 06 May 2024 07:00:00 GMT</pubDate></item></channel></rss>"
    ).encode()
    (request,) = collect(spider.parse_feed(respond(feed, rss, content_type="application/rss+xml")))
    assert request.url == "https://daily.example/news/1?utm_source=rss"
    assert request.callback == spider.parse_article and request.errback == spider.article_failed
    assert request.meta[ARTICLE_META] and request.meta["rasd_via"] == "feed"
    assert request.meta["rasd_hints"] == Hints("خبر", datetime(2024, 5, 6, 7, tzinfo=timezone.utc))


def test_feed_that_does_not_parse_becomes_a_dead_letter_and_no_requests():
    spider = make_spider()
    feed = next(r for r in spider.start_requests_for(spider.sources) if r.url.endswith("/rss"))
    (record,) = collect(spider.parse_feed(respond(feed, b"<html><body>down for maintenance</body></html>")))
    assert isinstance(record, DeadLetter)
    assert record.source == "daily" and record.url == feed.url
    assert "feed could not be parsed" in record.detail


def test_robots_txt_sitemaps_are_requested_as_sitemaps():
    spider = make_spider()
    robots = next(r for r in spider.start_requests_for(spider.sources) if r.url.endswith("robots.txt"))
    (request,) = list(spider.parse_robots(respond(robots, b"User-agent: *\nSitemap: /news-sitemap.xml\n", content_type="text/plain")))
    assert request.url == "https://daily.example/news-sitemap.xml"
    assert request.callback == spider.parse_sitemap


def test_sitemap_index_children_and_urlset_articles_are_followed():
    spider = make_spider()
    sitemap = next(r for r in spider.start_requests_for(spider.sources) if r.url.endswith("sitemap.xml"))
    index = b'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap><loc>https://daily.example/s1.xml</loc></sitemap></sitemapindex>'
    (child,) = collect(spider.parse_sitemap(respond(sitemap, index, XmlResponse, content_type="application/xml")))
    assert child.url == "https://daily.example/s1.xml" and child.callback == spider.parse_sitemap
    urlset = b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>https://daily.example/news/2</loc><lastmod>2024-05-01</lastmod></url></urlset>'
    (article,) = collect(spider.parse_sitemap(respond(child, urlset, XmlResponse, content_type="application/xml")))
    assert article.url == "https://daily.example/news/2" and article.meta["rasd_via"] == "sitemap"
    assert article.meta["rasd_hints"].published_at == datetime(2024, 5, 1, tzinfo=timezone.utc)


def test_a_sitemap_index_named_by_a_sitemap_index_is_a_dead_letter_and_not_followed():
    spider = make_spider()
    sitemap = next(r for r in spider.start_requests_for(spider.sources) if r.url.endswith("sitemap.xml"))
    index = b'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap><loc>https://daily.example/i1.xml</loc></sitemap></sitemapindex>'
    (child,) = collect(spider.parse_sitemap(respond(sitemap, index, XmlResponse, content_type="application/xml")))
    deeper = index.replace(b"i1.xml", b"i2.xml")
    (record,) = collect(spider.parse_sitemap(respond(child, deeper, XmlResponse, content_type="application/xml")))
    assert isinstance(record, DeadLetter) and record.reason == "undecodable" and record.url == child.url
    assert "named by another sitemap index" in record.detail


def test_a_listing_with_more_links_than_the_cap_keeps_the_first_ones_and_counts_the_rest():
    spider = make_spider(crawl_max_links_per_listing=2)
    feed = next(r for r in spider.start_requests_for(spider.sources) if r.url.endswith("/rss"))
    items = "".join(f"<item><title>{n}</title><link>https://daily.example/news/{n}</link></item>" for n in range(5))
    response = respond(feed, f'<rss version="2.0"><channel>{items}</channel></rss>'.encode(), content_type="application/rss+xml")
    requests = collect(spider.parse_feed(response))
    assert [r.url for r in requests] == ["https://daily.example/news/0", "https://daily.example/news/1"]
    assert response.meta["rasd_links_dropped"] == 3
    assert spider.crawler.stats.get_value("rasd/links_dropped/feed") == 3


def test_section_page_follows_matching_same_site_links_only():
    spider = make_spider()
    section = next(r for r in spider.start_requests_for(spider.sources) if r.url.endswith("/politics/"))
    html = b'<a href="/news/3">a</a><a href="/about">b</a><a href="https://elsewhere.example/news/4">c</a>'
    requests = list(spider.parse_section(respond(section, html, HtmlResponse)))
    assert [r.url for r in requests] == ["https://daily.example/news/3"]
    assert requests[0].meta["rasd_via"] == "section"


def article_request(spider: NewsSpider, url: str = "https://daily.example/news/1") -> Request:
    return spider.article_request(SOURCE, ArticleLink(url, Hints("خبر")), "feed")


def test_html_article_becomes_a_fetched_page():
    spider = make_spider()
    request = article_request(spider)
    (page,) = list(spider.parse_article(respond(request, ARABIC, HtmlResponse)))
    assert isinstance(page, FetchedPage)
    assert (page.source, page.discovered_via, page.hint_title) == ("daily", "feed", "خبر")
    assert page.body() == ARABIC


def test_non_html_article_becomes_a_not_html_dead_letter():
    spider = make_spider()
    request = article_request(spider, "https://daily.example/news/report.pdf")
    (record,) = list(spider.parse_article(respond(request, b"%PDF-1.4", Response, content_type="application/pdf")))
    assert isinstance(record, DeadLetter) and record.reason == "not_html"


def test_article_over_the_kafka_message_limit_becomes_a_too_large_dead_letter():
    spider = make_spider(kafka_max_message_bytes=300)
    request = article_request(spider)
    (record,) = list(spider.parse_article(respond(request, ARABIC * 20, HtmlResponse)))
    assert isinstance(record, DeadLetter) and record.reason == "too_large"


def failed(request: Request, exc: Exception) -> Failure:
    failure = Failure(exc)
    failure.request = request
    return failure


def test_article_http_error_becomes_a_dead_letter_and_robots_refusal_does_not():
    spider = make_spider()
    request = article_request(spider)
    error = HttpError(TextResponse(request.url, status=500, body=b"oops", request=request), "non-200")
    (record,) = list(spider.article_failed(failed(request, error)))
    assert (record.reason, record.http_status, record.source) == ("http_error", 500, "daily")
    assert list(spider.article_failed(failed(request, IgnoreRequest("Forbidden by robots.txt")))) == []


def test_spider_without_sources_refuses_to_start():
    crawler = get_crawler(NewsSpider, {"RASD_SETTINGS": Settings(sources_file=None)})
    with pytest.raises(ValueError, match="needs sources"):
        NewsSpider.from_crawler(crawler)


def test_spider_loads_sources_from_the_configured_file(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text("sources:\n  - name: daily\n    feeds: [https://daily.example/rss]\n", encoding="utf-8")
    crawler = get_crawler(NewsSpider, {"RASD_SETTINGS": Settings(sources_file=path)})
    assert [s.name for s in NewsSpider.from_crawler(crawler).sources] == ["daily"]

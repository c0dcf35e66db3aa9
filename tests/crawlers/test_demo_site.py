"""The crawler against the project's demo Arabic news site
(deploy/demo_site), publishing to the real local Kafka."""
from collections import Counter

import pytest

from crawlers.run import crawl
from crawlers.sources import Source
from deploy.demo_site.generate import generate_articles
from deploy.demo_site.server import DemoSite
from ingest.identity import canonical_url
from ingest.models import DeadLetter, FetchedPage
from tests.crawlers.topics import read_topic

pytestmark = pytest.mark.services


@pytest.fixture
def demo_site():
    site = DemoSite()
    site.start("127.0.0.1", port=0)
    yield site
    site.stop()


def fast(settings):
    return settings.model_copy(update={"crawl_download_delay_s": 0.0, "crawl_concurrency_per_domain": 8})


def demo_source(site: DemoSite, **extra) -> Source:
    return Source(name="demo", feeds=[site.feed_url], sitemaps=[site.sitemap_url], **extra)


def test_feed_and_sitemap_crawl_finds_every_article_exactly_once(settings, demo_site: DemoSite):
    # the home page links the robots-disallowed drafts page from its footer;
    # the pattern lets the section crawl try it so robots.txt must refuse it
    source = demo_source(demo_site, sections=[demo_site.url("/")], article_pattern=r"/(news/\d{4}/\d{2}|private)/")
    report = crawl(fast(settings), [source], CLOSESPIDER_TIMEOUT=120, timeout_s=300)

    pages = [p for _, p in read_topic(settings, settings.topic_pages, FetchedPage)]
    faults = demo_site.fault_urls()
    expected = [*demo_site.article_urls(), faults["empty"]]  # an HTML page without text is ingest's business
    assert Counter(canonical_url(p.final_url) for p in pages) == Counter(canonical_url(u) for u in expected)
    # the feed's legacy article.php link (a redirect) and utm-tagged link
    # were followed, and collapsed onto the sitemap's URLs
    assert "/article.php" in demo_site.served_at
    assert report.duplicate_articles >= len(demo_site.article_urls())
    assert all(p.source == "demo" and p.status == 200 for p in pages)
    assert all(p.hint_title for p in pages if p.discovered_via in ("feed", "sitemap"))
    assert all(p.hint_published_at for p in pages if p.discovered_via in ("feed", "sitemap"))

    assert demo_site.private_article.path not in demo_site.served_at
    assert report.robots_forbidden >= 1

    letters = {d.url: d for _, d in read_topic(settings, settings.topic_dead_letters, DeadLetter)}
    assert set(letters) == {faults["http_500"], faults["not_html"]}
    assert (letters[faults["http_500"]].reason, letters[faults["http_500"]].http_status) == ("http_error", 500)
    assert letters[faults["not_html"]].reason == "not_html"
    assert "application/pdf" in letters[faults["not_html"]].detail
    assert report.ok and report.pages_published == len(expected)


def test_large_demo_site_is_crawled_completely_and_the_rate_is_reported(settings, capsys):
    site = DemoSite(generate_articles(300), faults=False)
    site.start("127.0.0.1", port=0)
    try:
        report = crawl(fast(settings), [demo_source(site)], CLOSESPIDER_TIMEOUT=240, timeout_s=400)
    finally:
        site.stop()
    pages = read_topic(settings, settings.topic_pages, FetchedPage)
    assert {canonical_url(p.final_url) for _, p in pages} == {canonical_url(u) for u in site.article_urls()}
    assert report.ok and report.pages_published == 300 and report.dead_letters == {}
    with capsys.disabled():
        print(f"\ncrawl rate: {report.pages_published} pages in {report.elapsed_s:.1f}s = {report.pages_per_second:.0f} pages/s")

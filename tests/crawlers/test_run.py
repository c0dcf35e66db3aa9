from collections import Counter

import pytest

from crawlers.run import CrawlError, crawl
from crawlers.sources import Source
from ingest.identity import canonical_url
from ingest.models import DeadLetter, FetchedPage
from tests.crawlers.site import TITLES, TestSite
from tests.crawlers.topics import read_topic
from tests.progress_support import json_events, logged_before, progress_lines

pytestmark = pytest.mark.services


def fast(settings, **update):
    """No politeness delay against our own loopback servers."""
    return settings.model_copy(update={"crawl_download_delay_s": 0.0, "crawl_concurrency_per_domain": 8, **update})


def test_crawl_publishes_each_article_once_and_a_dead_letter_per_fault(settings, test_site: TestSite):
    source = Source(
        name="test-site",
        feeds=[test_site.feed_url],
        sitemaps=[test_site.robots_url],
        sections=[test_site.section_url],
        article_pattern=r"/news/",
    )
    # small message limit: /big.html must become a too_large dead letter
    report = crawl(fast(settings, kafka_max_message_bytes=20_000), [source], CLOSESPIDER_TIMEOUT=120, timeout_s=300)

    pages = [p for _, p in read_topic(settings, settings.topic_pages, FetchedPage)]
    finals = Counter(canonical_url(p.final_url) for p in pages)
    assert finals == Counter(canonical_url(test_site.article_url(n)) for n in TITLES)
    # ...and each was downloaded once, whatever the route (tracking params, redirects, section + feed + sitemap)
    for n in TITLES:
        assert test_site.path_hits(f"/news/{n}.html") == (2 if n == 8 else 1), n  # 8: utm URL redirects to itself clean
    assert test_site.path_hits("/private/draft.html") == 0

    by_final = {p.final_url: p for p in pages}
    redirected = by_final[test_site.article_url(2)]
    # whichever route got there first: the feed's redirecting link or the sitemap's URL
    assert redirected.url in (test_site.url("/go/2?utm_source=rss"), test_site.article_url(2))
    windows = by_final[test_site.article_url(4)]
    assert windows.headers["content-type"] == "text/html; charset=windows-1256"
    assert TITLES[4] in windows.body().decode("cp1256")
    assert windows.hint_title == TITLES[4] and windows.discovered_via == "sitemap"
    assert by_final[test_site.article_url(6)].discovered_via == "section"

    letters = [d for _, d in read_topic(settings, settings.topic_dead_letters, DeadLetter)]
    got = sorted((d.reason, d.url) for d in letters)
    assert got == sorted(
        [
            ("http_error", test_site.url("/news/broken.html")),
            ("not_html", test_site.url("/files/report.pdf")),
            ("too_large", test_site.url("/big.html")),
            ("fetch_failed", "http://127.0.0.1:1/news/down.html"),
            ("http_error", test_site.url("/sitemaps/missing.xml")),
            ("undecodable", test_site.url("/sitemaps/broken.xml")),
        ]
    )
    assert all(d.stage == "crawl" and d.source == "test-site" for d in letters)
    assert {d.url: d.http_status for d in letters}[test_site.url("/news/broken.html")] == 500

    assert report.ok
    assert report.pages_published == len(TITLES)
    assert report.dead_letters == {"http_error": 2, "not_html": 1, "too_large": 1, "fetch_failed": 1, "undecodable": 1}
    assert report.robots_forbidden == 1
    assert report.responses_by_status[500] == 3  # first try and two retries
    assert report.duplicate_articles >= 3
    assert report.requests > report.pages_published


def test_crawl_can_run_twice_in_one_process(settings, test_site: TestSite):
    source = Source(name="test-site", feeds=[test_site.feed_url])
    first = crawl(fast(settings), [source], CLOSESPIDER_TIMEOUT=120, timeout_s=300)
    second = crawl(fast(settings), [source], CLOSESPIDER_TIMEOUT=120, timeout_s=300)
    assert first.pages_published == second.pages_published == 5
    assert len(read_topic(settings, settings.topic_pages, FetchedPage)) == 10


def test_per_source_delay_spaces_out_requests(settings, test_site: TestSite):
    source = Source(name="slow", feeds=[test_site.feed_url], download_delay_s=0.5, concurrency=1)
    report = crawl(fast(settings), [source], CLOSESPIDER_TIMEOUT=120, timeout_s=300)
    # feed + 5 articles + 2 redirects + 1 fetch_failed host on its own slot: >= 7 spaced requests on this host
    assert report.pages_published == 5
    assert report.elapsed_s >= 0.5 * 6


def test_crawl_with_kafka_unreachable_raises_crawl_error(settings, test_site: TestSite):
    source = Source(name="test-site", feeds=[test_site.feed_url])
    # the error comes after the bootstrap timeout (30 s by default)
    broken = fast(settings, kafka_bootstrap_servers="127.0.0.1:1", kafka_bootstrap_timeout_ms=3000)
    with pytest.raises(CrawlError, match="crawl could not run: .*(Unable to bootstrap|NoBrokersAvailable)"):
        crawl(broken, [source], CLOSESPIDER_TIMEOUT=60, timeout_s=300)
    assert test_site.hits["/feed.xml"] == 0


def test_a_crawl_logs_progress_lines_while_it_runs(settings, test_site: TestSite, capfd):
    # spaced requests (about 3 s in all) and a short interval: lines come mid-crawl
    source = Source(name="slow", feeds=[test_site.feed_url], download_delay_s=0.4, concurrency=1)
    report = crawl(fast(settings, progress_interval_s=0.3, log_json=True), [source], CLOSESPIDER_TIMEOUT=120,
                   timeout_s=300)
    events = json_events(capfd.readouterr().err)
    lines = progress_lines(events, "crawl")
    mid = [e for e in lines if 0 < e["fetched"] and e["queued"] > 0]
    assert len(mid) >= 2, lines
    assert logged_before(events, mid[-1], "crawl_finished")
    assert all(e["stage"] == "crawl" and e["per_s"] >= 0 and e["errors"] >= 0 for e in lines)
    fetched = [e["fetched"] for e in lines]
    assert fetched == sorted(fetched) and fetched[-1] <= report.requests
    assert 0 < max(e["published"] for e in lines) <= report.pages_published == 5

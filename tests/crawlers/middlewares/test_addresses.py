"""SSRF protection in real crawls: sites served on loopback addresses
(Linux answers on all of 127.0.0.0/8, so 127.0.0.2 is a second machine as
far as the crawler can tell), the crawler's own resolver, Kafka."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from crawlers.run import crawl
from crawlers.settings import DOWNLOADER_MIDDLEWARES
from crawlers.sources import Source
from ingest.models import DeadLetter, FetchedPage
from tests.crawlers.site import RoutedSite as Site
from tests.crawlers.topics import read_topic

pytestmark = pytest.mark.services

@pytest.fixture
def sites() -> Iterator[tuple[Site, Site]]:
    """The crawl's own site on 127.0.0.2 (the one allowed address in these
    tests) and an internal service on 127.0.0.1 it must never reach."""
    allowed, internal = Site("127.0.0.2"), Site("127.0.0.1")
    internal.article("/secret.html")
    yield allowed, internal
    allowed.stop()
    internal.stop()


def one_pass(settings, feed_url: str, allowed: list[str], **overrides):
    s = settings.model_copy(update={"crawl_allowed_networks": allowed, "crawl_download_delay_s": 0.0})
    report = crawl(s, [Source(name="site", feeds=[feed_url])], CLOSESPIDER_TIMEOUT=120, timeout_s=300, **overrides)
    letters = [d for _, d in read_topic(settings, settings.topic_dead_letters, DeadLetter)]
    pages = [p for _, p in read_topic(settings, settings.topic_pages, FetchedPage)]
    return report, letters, pages


def test_a_loopback_site_is_refused_without_the_allowance_and_crawled_with_it(settings):
    site = Site("127.0.0.1")
    try:
        feed = site.feed("/feed.xml", [site.article("/news/1.html")])
        report, letters, pages = one_pass(settings, feed, allowed=[])
        assert [(d.reason, d.url) for d in letters] == [("address_refused", feed)]
        assert "127.0.0.1" in letters[0].detail
        assert report.dead_letters == {"address_refused": 1}
        assert sum(site.hits.values()) == 0  # not even robots.txt

        report, letters, pages = one_pass(settings, feed, allowed=["127.0.0.1/32"])
        assert [p.url for p in pages] == [site.base_url + "/news/1.html"]
        assert site.hits["/news/1.html"] == 1
    finally:
        site.stop()


def test_links_and_redirects_to_refused_addresses_become_address_refused_dead_letters_and_are_never_fetched(
    settings, sites
):
    allowed, internal = sites
    port = internal.port
    refused = {
        "literal": f"http://127.0.0.1:{port}/secret.html",
        "localhost": f"http://localhost:{port}/secret.html",  # a name that resolves to loopback
        "inet_aton": f"http://2130706433:{port}/secret.html",  # 127.0.0.1 spelled as a number
        "ipv6 loopback": f"http://[::1]:{port}/secret.html",
        "ipv4-mapped": f"http://[::ffff:127.0.0.1]:{port}/secret.html",
        "metadata": "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "metadata name": "http://metadata.google.internal/computeMetadata/v1/",
        "private": "http://10.0.0.1/admin",
    }
    target = f"http://127.0.0.1:{port}/redirected.html"
    escape = allowed.redirect("/escape.html", target)
    fine = allowed.article("/news/ok.html")
    feed = allowed.feed("/feed.xml", [fine, escape, *refused.values()])

    report, letters, pages = one_pass(settings, feed, allowed=["127.0.0.2/32"])

    assert sum(internal.hits.values()) == 0
    assert [p.url for p in pages] == [fine]
    assert allowed.hits["/escape.html"] == 1  # the allowed site was asked; its redirect target was not
    assert all(d.reason == "address_refused" for d in letters), [(d.reason, d.detail) for d in letters]
    # the redirect is recorded under its target, the one refused
    assert sorted(d.url for d in letters) == sorted([*refused.values(), target])
    by_url = {d.url: d.detail for d in letters}
    assert "127.0.0.1" in by_url[refused["localhost"]]
    assert report.dead_letters == {"address_refused": len(refused) + 1}


def test_the_resolver_refuses_the_connection_even_when_the_middleware_is_bypassed(settings, sites):
    """The address connected to is the address checked: without the
    middleware's early check, HTTP/1.1's own name resolution still refuses
    (a DNS answer that changed after the check would end the same way)."""
    allowed, internal = sites
    port = internal.port
    links = [f"http://127.0.0.1:{port}/secret.html", f"http://localhost:{port}/secret.html"]
    feed = allowed.feed("/feed.xml", links)
    without_guard = {**DOWNLOADER_MIDDLEWARES, "crawlers.middlewares.addresses.AddressGuardMiddleware": None}

    _, letters, _ = one_pass(settings, feed, allowed=["127.0.0.2/32"], DOWNLOADER_MIDDLEWARES=without_guard, RETRY_ENABLED=False)

    assert sum(internal.hits.values()) == 0
    assert sorted(d.url for d in letters) == sorted(links)
    # refused inside the resolution, which Twisted reports as a failed lookup
    assert all(d.reason == "fetch_failed" and "DNS lookup failed" in d.detail for d in letters)


def test_a_continuous_crawl_records_refusals_in_the_status_index_as_final_for_articles_and_longest_backoff_for_listings(
    settings, sites
):
    from crawlers.frontier.status import UrlStatus
    from crawlers.frontier.store import StatusStore
    from ingest.engines.detect import open_configured_client
    from tests.crawlers.support import Running, quick, wait_until

    allowed, internal = sites
    secret = f"http://127.0.0.1:{internal.port}/secret.html"
    refused_feed = internal.feed("/feed.xml", [internal.base_url + "/secret.html"])
    feed = allowed.feed("/feed.xml", [secret])
    s = quick(settings, crawl_allowed_networks=["127.0.0.2/32"], crawl_error_backoff_max_s=3600.0)
    store = StatusStore(open_configured_client(s), s.crawl_status_index)

    def failed() -> dict[str, UrlStatus]:
        try:
            return {r.url: r for r in store.search({"term": {"status": "failed"}})}
        except Exception:  # noqa: BLE001 - the index is created by the crawl
            return {}

    run = Running(s, [Source(name="site", feeds=[feed]), Source(name="internal", feeds=[refused_feed])])
    wait_until(lambda: {secret, refused_feed} <= failed().keys(), 60, "both refusals recorded")
    run.stop()

    records = failed()
    article, listing = records[secret], records[refused_feed]
    assert article.next_fetch_at is None and "refused (127.0.0.1)" in (article.last_error or "")
    assert listing.next_fetch_at is not None and listing.last_fetched_at is not None
    assert (listing.next_fetch_at - listing.last_fetched_at).total_seconds() == 3600.0
    assert "refused (127.0.0.1)" in (listing.last_error or "")
    assert sum(internal.hits.values()) == 0
    letters = [d for _, d in read_topic(settings, settings.topic_dead_letters, DeadLetter)]
    assert {(d.reason, d.url) for d in letters} == {("address_refused", secret), ("address_refused", refused_feed)}

"""Hostile and broken input on the crawler side (issue 9): one continuous
crawl over the hostile hosts of ``tests/crawlers/hostile_site.py``, real
Kafka and the real status index. Each test checks that one hostile case
ended with its own recorded outcome (a dead letter with its reason, a
published page, or the listing's status record) while the normal Arabic
articles of the same run were all fetched: no worker died, none stalled.

Cases covered elsewhere, not repeated here:
- redirect loop (a -> b -> a): ``test_continuous.py::
  test_every_fetched_article_reaches_kafka_and_faults_become_dead_letters``
  (the daily site's /loop/a), also ``test_dupefilter.py``;
- connection refused (127.0.0.1:1): the same test (``closed_port``) and
  ``test_run.py::test_crawl_publishes_each_article_once_and_a_dead_letter_per_fault``;
- a page over the Kafka message limit, a PDF, a 404, a 500 retried twice:
  the same two tests;
- 429 and 503 with Retry-After, exact hold: ``test_continuous.py::
  test_retry_after_is_honoured_on_429_and_503``, ``test_politeness.py::
  test_retry_after_holds_the_host_for_exactly_that_long``,
  ``middlewares/test_politeness.py::test_429_with_retry_after_holds_the_host``;
- a source failing with 500 on every request, polled with growing backoff:
  ``test_continuous.py::test_a_failing_source_is_polled_with_growing_backoff_and_a_removed_one_not_at_all``;
- pagination and date-archive calendar traps on section pages:
  ``test_continuous.py::test_pagination_and_calendar_traps_are_not_followed``;
- a feed with a recoverable syntax error, a body that is no feed, a broken
  or oversized gzipped sitemap: ``test_discovery.py`` and ``test_run.py``;
- one slow site not slowing the others: ``test_continuous.py::test_one_slow_site_does_not_slow_the_others``.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import psutil
import pytest

from crawlers.frontier.status import UrlStatus, status_id
from crawlers.frontier.store import StatusStore
from crawlers.sources import Source
from ingest.engines.detect import open_configured_client
from ingest.identity import canonical_url
from ingest.models import DeadLetter, FetchedPage
from ingest.settings import Settings
from tests.crawlers.hostile_site import HostileSite
from tests.crawlers.support import Running, quick, wait_until
from tests.crawlers.topics import read_topic

pytestmark = pytest.mark.services

MAX_PAGE_BYTES = 8 * 1024 * 1024
LINK_CAP = 100
DOWNLOAD_TIMEOUT_S = 3.0
# the crawl process, with a 1 GiB gzip bomb, a 50 MB page, an endless body
# and 50,000-entry listings thrown at it
PEAK_RSS_LIMIT = 600 * 1024 * 1024
NORMAL = (1, 2, 3, 4, 5, 6, 8)  # article 7 is only behind the https redirect


@dataclass
class Outcome:
    site: HostileSite
    settings: Settings
    letters: dict[str, list[DeadLetter]] = field(default_factory=dict)
    pages: dict[str, list[FetchedPage]] = field(default_factory=dict)
    status: dict[str, UrlStatus] = field(default_factory=dict)
    peak_rss: int = 0
    report: object = None

    def letter(self, url: str) -> DeadLetter:
        assert url in self.letters, f"no dead letter for {url}; have {sorted(self.letters)}"
        return self.letters[url][0]

    def listing(self, kind: str, url: str) -> UrlStatus:
        return self.status[status_id(kind, url)]


def sources(site: HostileSite) -> list[Source]:
    m = site.main
    return [
        Source(
            name="hostile",
            homepage=m.url("/"),
            feeds=[m.url("/feed.xml"), m.url("/broken-feed.xml"), m.url("/huge-feed.xml")],
            sitemaps=[m.url("/sitemap-self.xml"), m.url("/sitemap-chain/0.xml"), m.url("/sitemap-60k.xml")],
        ),
        Source(name="storm", feeds=[site.storm.url("/feed.xml")]),
        Source(name="robots-hang", feeds=[site.robots_hang.url("/feed.xml")]),
        Source(name="robots-500", feeds=[site.robots_500.url("/feed.xml")]),
    ]


def _read(outcome: Outcome) -> None:
    s = outcome.settings
    outcome.letters, outcome.pages = {}, {}
    for _, letter in read_topic(s, s.topic_dead_letters, DeadLetter):
        outcome.letters.setdefault(letter.url or "", []).append(letter)
    for _, page in read_topic(s, s.topic_pages, FetchedPage):
        outcome.pages.setdefault(page.url, []).append(page)


def _listings(site: HostileSite) -> list[tuple[str, str]]:
    m = site.main
    return [
        ("feed", m.url("/huge-feed.xml")), ("sitemap", m.url("/sitemap-60k.xml")),
        ("sitemap", m.url("/sitemap-self.xml")), ("sitemap", m.url("/sitemap-chain/1.xml")),
        ("feed", site.storm.url("/feed.xml")), ("feed", site.robots_hang.url("/feed.xml")),
        ("feed", site.robots_500.url("/feed.xml")),
    ]


def _done(outcome: Outcome, store: StatusStore) -> bool:
    site = outcome.site
    _read(outcome)
    seen = set(outcome.letters) | set(outcome.pages)
    wanted = {site.recorded_url(case) for case in site.hostile()} | {site.article_url(n) for n in NORMAL}
    wanted |= {url for kind, url in _listings(site) if kind == "feed" and "huge" not in url}
    wanted.add(site.main.url("/sitemap-chain/1.xml"))
    if not wanted <= seen:
        return False
    outcome.status = store.get([status_id(k, u) for k, u in _listings(site)])
    storm = outcome.status.get(status_id("feed", site.storm.url("/feed.xml")))
    capped = [outcome.status.get(status_id(k, u)) for k, u in _listings(site)[:2]]
    return (
        all(rec is not None and rec.polls and rec.polls[-1].links_dropped for rec in capped)
        and storm is not None and storm.consecutive_errors >= 3
    )


@pytest.fixture(scope="module")
def outcome(stack_settings, kafka_bootstrap, opensearch_url) -> Iterator[Outcome]:
    from ingest.kafka_io import all_topics, ensure_topics

    base = stack_settings.namespaced(f"t{uuid.uuid4().hex[:8]}").model_copy(
        update={"kafka_bootstrap_servers": kafka_bootstrap, "search_url": opensearch_url}
    )
    ensure_topics(base)
    settings = quick(
        base,
        crawl_max_page_bytes=MAX_PAGE_BYTES,
        crawl_download_timeout_s=DOWNLOAD_TIMEOUT_S,
        crawl_max_links_per_listing=LINK_CAP,
        crawl_robots_retry_s=5.0,
        crawl_error_backoff_max_s=8.0,
    )
    site = HostileSite()
    client = open_configured_client(settings)
    store = StatusStore(client, settings.crawl_status_index)
    result = Outcome(site, settings)
    try:
        run = Running(settings, sources(site))
        wait_until(lambda: run.pid is not None, 30, "crawl process started")
        process = psutil.Process(run.pid)

        def finished() -> bool:
            try:
                result.peak_rss = max(result.peak_rss, process.memory_info().rss)
            except psutil.NoSuchProcess:
                pass
            assert run.thread.is_alive(), f"the crawl died: {run.error!r}"
            return _done(result, store)

        wait_until(finished, 150, "every hostile case recorded and every normal article fetched", every_s=1.0)
        result.report = run.stop()
        _read(result)
        yield result
    finally:
        site.stop()
        if client.index_exists(settings.crawl_status_index):
            client.delete_index(settings.crawl_status_index)
        client.close()
        from kafka import KafkaAdminClient

        admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap, client_id="rasd-tests-hostile")
        try:
            admin.delete_topics(all_topics(settings))
        finally:
            admin.close()


def test_normal_articles_are_all_fetched_once_beside_the_hostile_ones(outcome: Outcome):
    site = outcome.site
    for n in NORMAL:
        assert len(outcome.pages.get(site.article_url(n), [])) == 1, n
        assert len(site.main.paths(f"/news/{n}.html")) == 1, n
    assert outcome.report.finish_reason == "shutdown" and outcome.report.publish_errors == 0


def test_memory_stays_bounded(outcome: Outcome):
    assert outcome.peak_rss < PEAK_RSS_LIMIT, outcome.peak_rss / 2**20


def test_gzip_bomb_is_refused_by_its_decompressed_size(outcome: Outcome):
    letter = outcome.letter(outcome.site.hostile()["gzip_bomb"])
    assert letter.reason == "too_large" and "DOWNLOAD_MAXSIZE" in letter.detail
    # final: a too-large page is not fetched again
    assert len(outcome.site.main.paths("/bomb.html")) == 1


def test_a_50_mb_page_is_refused_by_its_declared_size(outcome: Outcome):
    letter = outcome.letter(outcome.site.hostile()["fifty_mb"])
    assert letter.reason == "too_large" and "52428800" in letter.detail
    assert len(outcome.site.main.paths("/fifty-mb.html")) == 1


def test_an_endless_chunked_body_is_stopped_at_the_size_limit(outcome: Outcome):
    letter = outcome.letter(outcome.site.hostile()["endless_chunked"])
    assert letter.reason == "too_large" and f"{MAX_PAGE_BYTES} bytes" in letter.detail
    assert len(outcome.site.main.paths("/endless.html")) == 1


def test_a_slow_loris_ends_by_the_download_timeout(outcome: Outcome):
    letter = outcome.letter(outcome.site.hostile()["slow_loris"])
    assert letter.reason == "fetch_failed" and "timed out" in letter.detail
    # tried three times (Scrapy's retries), each cut at the timeout
    assert len(outcome.site.main.paths("/slowloris.html")) >= 3


@pytest.mark.parametrize("case,target", [("redirect_ftp", "ftp://"), ("redirect_file", "file:///etc/passwd"), ("redirect_data", "data:")])
def test_a_redirect_to_another_scheme_is_not_followed(outcome: Outcome, case: str, target: str):
    letter = outcome.letter(outcome.site.hostile()[case])
    assert letter.reason == "http_error" and letter.http_status == 302
    assert f"redirect to {target}" in letter.detail and "not followed" in letter.detail


def test_a_redirect_to_https_on_a_plain_http_port_is_a_tls_error(outcome: Outcome):
    site = outcome.site
    # the dead letter names the URL the redirect led to
    letter = outcome.letter(site.recorded_url("redirect_https_no_tls"))
    assert letter.reason == "fetch_failed" and "SSL" in letter.detail
    assert not site.main.paths("/news/7.html")


def test_tls_garbage_is_a_fetch_failure(outcome: Outcome):
    letter = outcome.letter(outcome.site.hostile()["tls_garbage"])
    assert letter.reason == "fetch_failed" and "SSL" in letter.detail


def test_a_dns_failure_is_a_fetch_failure(outcome: Outcome):
    letter = outcome.letter(outcome.site.hostile()["dns_failure"])
    assert letter.reason == "fetch_failed" and "DNS lookup failed" in letter.detail


def test_a_truncated_body_is_a_fetch_failure(outcome: Outcome):
    letter = outcome.letter(outcome.site.hostile()["truncated"])
    assert letter.reason == "fetch_failed" and "truncated response" in letter.detail


def test_a_non_html_body_labelled_html_and_an_empty_body_go_to_ingest(outcome: Outcome):
    # the crawler trusts the declared type; ingest refuses the body by its
    # magic number (a PNG) or classifies it as empty
    hostile = outcome.site.hostile()
    (image,) = outcome.pages[hostile["not_html_as_html"]]
    assert image.body().startswith(b"\x89PNG")
    (empty,) = outcome.pages[hostile["empty_body"]]
    assert empty.body() == b"" and empty.status == 200


def test_429_with_retry_after_holds_that_host_only(outcome: Outcome):
    site = outcome.site
    first, second = site.throttle.paths("/news/t.html")[:2]
    assert first.status == 429 and second.status == 200
    assert second.started - first.started >= 4.0 - 0.05
    # the other hosts were served while the throttled one waited. Any of
    # them: the main one alone was once idle for the whole 4 s (a clean-clone
    # CI run), as its own slow answers (one byte a second until the 3 s
    # download timeout) and its own error backoff can keep it
    others = [h for host in site.hosts if host is not site.throttle for h in host.hits]
    assert [h for h in others if first.started < h.started < second.started]
    assert outcome.pages[site.hostile()["throttled"]]


def test_a_503_storm_backs_off_and_marks_the_source_failing(outcome: Outcome):
    site = outcome.site
    letter = outcome.letter(site.hostile()["storm_article"])
    assert letter.reason == "http_error" and letter.http_status == 503 and "after 2 retries" in letter.detail
    feed = outcome.listing("feed", site.storm.url("/feed.xml"))
    assert feed.status == "failed" and feed.consecutive_errors >= 3 and "HTTP 503" in (feed.last_error or "")
    # the listing's next poll waits longer than its interval: backoff doubled per error
    wait = (feed.next_fetch_at - feed.last_fetched_at).total_seconds()
    assert wait >= 2 * outcome.settings.crawl_poll_interval_s, wait
    # and the host itself is held after every 503 (at least 1 s, growing), so
    # the article's retries do not hammer it
    tries = sorted(h.started for h in site.storm.paths("/news/s.html"))
    assert len(tries) >= 3 and min(b - a for a, b in zip(tries, tries[1:])) >= 0.9, tries


@pytest.mark.parametrize("host", ["robots_hang", "robots_500"])
def test_an_unavailable_robots_txt_disallows_the_site_for_a_while(outcome: Outcome, host: str):
    site = outcome.site
    server = getattr(site, host)
    letter = outcome.letter(server.url("/feed.xml"))
    assert letter.reason == "fetch_failed" and "robots.txt unavailable" in letter.detail
    assert ("timed out" in letter.detail or "Timeout" in letter.detail) if host == "robots_hang" else "HTTP 500" in letter.detail
    # nothing but robots.txt was asked of that site, and the feed is retried later
    assert {h.path for h in server.hits} == {"/robots.txt"}
    feed = outcome.listing("feed", server.url("/feed.xml"))
    assert feed.status == "failed" and feed.next_fetch_at is not None


def test_a_broken_feed_still_yields_the_entries_before_the_break(outcome: Outcome):
    for n in (4, 5):  # listed only by the broken feed
        assert outcome.pages[outcome.site.article_url(n)][0].discovered_via == "feed"
    assert outcome.site.main.url("/broken-feed.xml") not in outcome.letters


@pytest.mark.parametrize("kind,path,total", [("feed", "/huge-feed.xml", 50_000), ("sitemap", "/sitemap-60k.xml", 60_000)])
def test_a_listing_of_tens_of_thousands_of_links_is_cut_at_the_cap(outcome: Outcome, kind: str, path: str, total: int):
    site = outcome.site
    poll = outcome.listing(kind, site.main.url(path)).polls[-1]
    assert poll.http_status == 200 and poll.links == LINK_CAP and poll.links_dropped == total - LINK_CAP
    # the kept links are all disallowed by robots.txt: refused without a request
    assert not [h for h in site.main.hits if h.path.startswith("/private/")]


def test_a_sitemap_index_listing_itself_is_polled_on_its_schedule_only(outcome: Outcome):
    site = outcome.site
    rec = outcome.listing("sitemap", site.main.url("/sitemap-self.xml"))
    assert rec.status == "fetched" and rec.discovered_from is None
    # no recursion: each request is one poll, spaced by at least the minimum interval
    polls = sorted(h.started for h in site.main.paths("/sitemap-self.xml"))
    assert all(b - a >= outcome.settings.crawl_poll_min_s * 0.9 for a, b in zip(polls, polls[1:])), polls
    assert outcome.pages[site.article_url(6)]


def test_a_chain_of_sitemap_indexes_stops_after_one_level(outcome: Outcome):
    site = outcome.site
    letter = outcome.letter(site.main.url("/sitemap-chain/1.xml"))
    assert letter.reason == "undecodable" and "named by another sitemap index" in letter.detail
    assert not site.main.paths("/sitemap-chain/2.xml")


def test_a_calendar_trap_is_not_entered(outcome: Outcome):
    site = outcome.site
    assert not site.main.paths("/calendar")
    assert outcome.pages[site.article_url(8)]  # the homepage's real article link was followed
    assert canonical_url(site.main.url("/calendar?month=1")) not in {canonical_url(u) for u in outcome.pages}


def test_no_hostile_case_was_left_without_a_record(outcome: Outcome):
    site = outcome.site
    recorded = set(outcome.letters) | set(outcome.pages)
    assert {case for case in site.hostile() if site.recorded_url(case) not in recorded} == set()

"""The continuous crawl on the fixture universe (seven sites on their own
loopback addresses), real Kafka and the real status index.

One scenario runs once for the module, as a monitoring team would live it:
two crawler processes start together on the same sources; one is SIGKILLed
midway and a replacement starts; articles are published while the crawl
runs; a source is removed from the sources file; the crawl is stopped and
restarted. Each test then checks one promise against the fixture servers'
request logs and the topics."""
from __future__ import annotations

import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest
import yaml

from crawlers.sources import load_sources
from deploy.universe import Hit, Universe, fixture_universe
from ingest.identity import canonical_url
from ingest.models import DeadLetter, FetchedPage
from ingest.settings import Settings
from tests.crawlers.support import Running, quick, wait_until
from tests.crawlers.topics import read_topic

pytestmark = pytest.mark.services

HEADERS = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "Accept-Language": "ar,en;q=0.8"}


def tagged(name: str) -> dict[str, object]:
    return {"DEFAULT_REQUEST_HEADERS": {**HEADERS, "X-Rasd-Crawler": name}}


def _canon(url: str) -> str:
    return canonical_url(url)


class Scenario:
    def __init__(self, universe: Universe, settings: Settings, sources_file: Path) -> None:
        self.universe = universe
        self.settings = settings
        self.sources_file = sources_file
        self.kill_time = 0.0
        self.killed_first_hits: set[str] = set()
        self.published: dict[str, float] = {}
        self.removed_at = 0.0
        self.added_at = 0.0
        self.restart_started = 0.0
        self.reports: dict[str, object] = {}
        self.expected: set[str] = set()
        self.hits: list[Hit] = []
        self.hits_before_restart: list[Hit] = []

    def article_hits(self, hits: list[Hit] | None = None) -> dict[str, list[Hit]]:
        articles = {_canon(u) for u in self.universe.all_article_urls()}
        out: dict[str, list[Hit]] = defaultdict(list)
        for hit in hits if hits is not None else self.hits:
            key = _canon(hit.url)
            if key in articles:
                out[key].append(hit)
        return out

    def fetched(self) -> set[str]:
        return {
            _canon(h.url)
            for h in self.universe.hits
            if h.status in (200, 304) and _canon(h.url) in {_canon(u) for u in self.universe.expected_article_urls()}
        }

    def _fetched_articles(self, client: str) -> bool:
        articles = {_canon(u) for u in self.universe.all_article_urls()}
        return any(h.client == client and _canon(h.url) in articles for h in self.universe.hits)

    def _edit(self, change) -> None:  # type: ignore[no-untyped-def]
        data = yaml.safe_load(self.sources_file.read_text(encoding="utf-8"))
        data["sources"] = change(data["sources"])
        self.sources_file.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")

    def run(self) -> None:
        expected = {_canon(u) for u in self.universe.expected_article_urls()}
        sources = load_sources(self.sources_file)
        a = Running(self.settings, sources, self.sources_file, **tagged("A"))
        b = Running(self.settings, sources, self.sources_file, **tagged("B"))
        try:
            # Both processes must have worked before one dies. kafka-python 3.0
            # has been seen to leave a joining member without an assignment
            # (a CI run: A had no hosts until its kill 15 s in); the frontier
            # rejoins after REJOIN_AFTER_S, so wait for that rather than kill
            # a process that never owned anything.
            wait_until(lambda: len(self.fetched()) >= 0.4 * len(expected) and self._fetched_articles("A")
                       and self._fetched_articles("B"), 240, "40% of the articles fetched, by both processes")
            self.kill_time = time.time()
            a.kill()
            c = Running(self.settings, sources, self.sources_file, **tagged("C"))
            # a source added while the crawl runs
            self._edit(lambda entries: entries + [self.universe.sites["nouvelles"].source_entry()])
            self.added_at = time.time()
            try:
                wait_until(lambda: expected <= self.fetched(), 300, "every reachable article fetched")
                # the replacement owns hosts (it re-reads their listings)
                # before the news that some of them will carry
                wait_until(lambda: any(h.client == "C" for h in self.universe.hits), 90, "the replacement at work")
                # news while the crawl runs
                for site in ("akhbar", "novosti", "sahafa"):
                    for url in self.universe.publish(site, 1):
                        self.published[_canon(url)] = time.time()
                wait_until(lambda: set(self.published) <= self.fetched(), 60, "published articles fetched")
                # a source leaves the sources file while the crawl runs
                self._edit(lambda entries: [e for e in entries if e["name"] != "down"])
                self.removed_at = time.time()
                time.sleep(8)
            finally:
                self.reports["C"] = c.stop()
        finally:
            self.reports["B"] = b.stop()
            if a.thread.is_alive():
                a.stop()
        self.expected = expected | set(self.published)
        self.hits_before_restart = self.universe.hits
        # requests the killed process had sent just before it died (a slow
        # site answers them after its death): it never recorded them
        self.killed_first_hits = {
            _canon(h.url) for h in self.hits_before_restart if h.client == "A" and h.started > self.kill_time - 4
        }
        # a restart resumes where the crawl stopped
        self.restart_started = time.time()
        d = Running(self.settings, load_sources(self.sources_file), self.sources_file, **tagged("D"))
        time.sleep(10)
        self.reports["D"] = d.stop()
        self.hits = self.universe.hits


@pytest.fixture(scope="module")
def scenario(stack_settings, kafka_bootstrap, opensearch_url, tmp_path_factory) -> Scenario:
    import uuid

    from ingest.kafka_io import ensure_topics

    base = stack_settings.namespaced(f"t{uuid.uuid4().hex[:8]}").model_copy(
        update={"kafka_bootstrap_servers": kafka_bootstrap, "search_url": opensearch_url}
    )
    ensure_topics(base)
    settings = quick(base, crawl_max_page_bytes=8 * 1024 * 1024)
    universe = fixture_universe().start()
    try:
        path = tmp_path_factory.mktemp("sources") / "sources.yaml"
        # nouvelles joins the sources file while the crawl runs
        initial = [e for e in universe.sources() if e["name"] != "nouvelles"]
        path.write_text(yaml.safe_dump({"sources": initial}, allow_unicode=True), encoding="utf-8")
        sc = Scenario(universe, settings, path)
        sc.run()
        yield sc
    finally:
        universe.stop()


def test_two_crawlers_and_a_killed_one_fetch_every_reachable_article_exactly_once(scenario: Scenario):
    by_article = scenario.article_hits(scenario.hits_before_restart)
    missing = scenario.expected - set(by_article)
    assert not missing, f"{len(missing)} reachable articles never fetched, e.g. {sorted(missing)[:3]}"
    twice = {
        url: [(h.client, round(h.started - scenario.kill_time, 2)) for h in hits]
        for url, hits in by_article.items()
        if len([h for h in hits if h.status not in (429, 503)]) > 1
    }
    # The one exception: a page the killed process had just fetched but had
    # not yet recorded (its status write follows Kafka's acknowledgement)
    unexplained = {url: h for url, h in twice.items() if url not in scenario.killed_first_hits}
    story = [(h.client, h.path, h.status, round(h.started - scenario.kill_time, 2)) for h in scenario.hits_before_restart if "/story/" in h.path]
    assert not unexplained, f"fetched twice: {unexplained}; story: {story}"
    # how many depends on the load: the fetches of the dead process's last
    # second or two (page on Kafka, then its status write), never more
    assert len(twice) < len(by_article) / 4, len(twice)
    # both processes did work, and the replacement took over the dead one's hosts
    clients = Counter(h.client for hits in by_article.values() for h in hits)
    assert clients["A"] > 0 and clients["B"] > 0 and clients["C"] > 0, clients


def test_each_host_is_fetched_by_one_process_at_a_time(scenario: Scenario):
    # between the kill and the group noticing it, the dead process owns its
    # hosts; after that each host's requests come from a single process
    # between rebalances: two processes never interleave on one host
    by_host: dict[str, list[Hit]] = defaultdict(list)
    for hit in scenario.hits_before_restart:
        by_host[hit.site].append(hit)
    for site, hits in by_host.items():
        hits.sort(key=lambda h: h.started)
        switches = sum(1 for x, y in zip(hits, hits[1:]) if x.client != y.client)
        assert switches <= 4, (site, switches)


def test_crawl_delay_is_never_undercut_across_processes(scenario: Scenario):
    starts = sorted(h.started for h in scenario.hits if h.site == "sahafa")
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert len(starts) > 50
    # server-side timestamps: allow the loopback's scheduling jitter only
    assert min(gaps) >= 0.98, sorted(gaps)[:5]


def test_robots_disallow_is_obeyed(scenario: Scenario):
    assert not [h for h in scenario.hits if h.site == "sahafa" and h.path.startswith("/private/")]


def test_homepage_only_sources_are_crawled_through_discovered_feeds_and_sitemaps(scenario: Scenario):
    hit_paths = {(h.site, h.path) for h in scenario.hits}
    assert ("sahafa", "/feeds/latest") in hit_paths and ("sahafa", "/feeds/atom") in hit_paths
    assert ("nouvelles", "/sitemap_index.xml") in hit_paths and ("nouvelles", "/sitemap-news.xml") in hit_paths
    fetched = set(scenario.article_hits())
    for site in ("sahafa", "nouvelles"):
        want = {_canon(u) for u in scenario.universe.sites[site].expected_article_urls()}
        assert want <= fetched, (site, len(want - fetched))


def test_retry_after_is_honoured_on_429_and_503(scenario: Scenario):
    novosti = scenario.universe.sites["novosti"]
    for url, seconds in ((novosti.throttled_url, 2.0), (novosti.unavailable_url, 1.0)):
        hits = sorted((h for h in scenario.hits if _canon(h.url) == _canon(url)), key=lambda h: h.started)
        assert [h.status for h in hits][:2] == [429 if seconds == 2.0 else 503, 200]
        assert hits[1].started - hits[0].finished >= seconds - 0.02, (url, hits[1].started - hits[0].finished)


def test_articles_published_while_crawling_are_fetched_within_one_poll_interval(scenario: Scenario):
    first = {url: min(h.started for h in hits) for url, hits in scenario.article_hits().items()}
    for url, when in scenario.published.items():
        # one poll interval (at most crawl_poll_max_s), plus the way from the
        # listing to the fetch: frontier topic, status index refresh, due
        # query, the site's own delay (sahafa: Crawl-delay 1 s)
        assert first[url] - when <= scenario.settings.crawl_poll_max_s + 6.0, (url, first[url] - when)


def test_unchanged_listings_are_asked_conditionally_and_304_is_not_reparsed(scenario: Scenario):
    conditional = [h for h in scenario.hits if h.path == "/rss" and h.site == "novosti" and h.if_none_match]
    assert conditional and any(h.status == 304 for h in conditional)
    assert sum(r.not_modified for r in scenario.reports.values()) > 0  # type: ignore[attr-defined]


def test_a_failing_source_is_polled_with_growing_backoff_and_a_removed_one_not_at_all(scenario: Scenario):
    polls = sorted(h.started for h in scenario.hits if h.site == "down" and h.path == "/feed.xml")
    assert len(polls) >= 3
    gaps = [b - a for a, b in zip(polls, polls[1:])]
    # a poll is one request (no immediate retries) and the backoff lives in
    # the status index: it grows to the ceiling and stays there, whichever
    # process owns the host. The host's own error backoff (politeness) counts
    # the failures of the source's homepage listing too: when those came
    # first, the feed's first retry already waits the ceiling, and the growth
    # shows only in the host's requests (the rule has its unit tests).
    ceiling = scenario.settings.crawl_error_backoff_max_s
    assert gaps[-1] > gaps[0] * 1.5 or gaps[0] >= 0.8 * ceiling, gaps
    assert gaps[-1] >= 0.8 * ceiling, gaps
    # the sources file is re-read within a second; allow for a poll in flight
    after = [h for h in scenario.hits if h.site == "down" and h.started > scenario.removed_at + 3]
    assert not after, after


def test_a_source_added_to_the_sources_file_is_crawled_without_a_restart(scenario: Scenario):
    hits = [h for h in scenario.hits_before_restart if h.site == "nouvelles"]
    assert hits and min(h.started for h in hits) >= scenario.added_at
    want = {_canon(u) for u in scenario.universe.sites["nouvelles"].expected_article_urls()}
    assert want <= set(scenario.article_hits(hits))


def test_a_restart_fetches_nothing_already_fetched(scenario: Scenario):
    later = [h for h in scenario.hits if h.started >= scenario.restart_started]
    assert later, "the restarted crawler polled nothing"
    assert not scenario.article_hits(later), sorted(scenario.article_hits(later))[:5]


def test_every_fetched_article_reaches_kafka_and_faults_become_dead_letters(scenario: Scenario):
    pages = [p for _, p in read_topic(scenario.settings, scenario.settings.topic_pages, FetchedPage)]
    finals = {_canon(p.final_url) for p in pages} | {_canon(p.url) for p in pages}
    assert scenario.expected <= finals
    letters = [d for _, d in read_topic(scenario.settings, scenario.settings.topic_dead_letters, DeadLetter)]
    faults = scenario.universe.sites["daily"].fault_urls
    by_url = {d.url: d for d in letters}
    assert by_url[faults["not_found"]].reason == "http_error"
    assert by_url[faults["not_found"]].detail.endswith("HTTP 404")  # never retried, never said to be
    assert "after 2 retries" in by_url[faults["server_error"]].detail
    assert by_url[faults["pdf"]].reason == "not_html"
    assert by_url[faults["huge"]].reason == "too_large"
    loop = [d for d in letters if "/loop/" in (d.url or "")]
    assert loop and "redirect" in loop[0].detail
    assert by_url[faults["closed_port"]].reason == "fetch_failed"


def test_one_slow_site_does_not_slow_the_others(scenario: Scenario):
    slow_last = max(h.finished for h in scenario.hits_before_restart if h.site == "slow" and h.status == 200)
    slow_first = min(h.started for h in scenario.hits_before_restart if h.site == "slow")
    fast = [h for h in scenario.hits_before_restart if h.site == "novosti" and h.started < slow_last and h.started > slow_first]
    # novosti got many requests while the slow site was still being crawled
    assert len(fast) >= 20, len(fast)


def test_pagination_and_calendar_traps_are_not_followed(scenario: Scenario):
    daily = [h for h in scenario.hits if h.site == "daily"]
    assert not [h for h in daily if h.path.startswith("/archive/")]
    assert not [h for h in daily if "page=" in h.query]


def test_tracking_parameters_and_windows_1256_pages(scenario: Scenario):
    akhbar = scenario.universe.sites["akhbar"]
    # feed links carry utm_* parameters: the canonical URL is what is fetched
    assert not [h for h in scenario.hits if h.site == "akhbar" and "utm_" in h.query]
    pages = [p for _, p in read_topic(scenario.settings, scenario.settings.topic_pages, FetchedPage)]
    windows = [p for p in pages if _canon(p.final_url) == _canon(akhbar.windows_1256_url)]
    assert windows and "windows-1256" in windows[0].headers["content-type"]

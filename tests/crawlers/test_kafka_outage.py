"""Fault test (issue 9): the Kafka broker is stopped for 30 s while a
continuous crawl runs, and new articles appear on the site meanwhile; then
the broker is started again. The crawl goes on (neither its frontier nor its
page pipeline closes the spider), stops cleanly when asked, and every
article, those published during the outage too, is on the pages topic.

The broker is a private Kafka (tests/conftest.py ``private_kafka``); the
crawl status index is on the shared OpenSearch."""
from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from crawlers.sources import Source
from deploy.stack import manager
from ingest.identity import document_id
from ingest.kafka_io import ensure_topics
from ingest.models import FetchedPage
from ingest.settings import Settings
from tests.crawlers.site import TITLES, TestSite, article_html
from tests.crawlers.support import Running, quick, wait_until
from tests.crawlers.topics import read_topic

pytestmark = pytest.mark.services

OUTAGE_S = 30.0


class GrowingSite(TestSite):
    """The test site, whose feed lists ``late`` more articles once set."""

    def __init__(self) -> None:
        super().__init__()
        self.late = 0

    def feed(self) -> str:
        entries = "".join(f"<item><title>خبر متأخر {n}</title><link>{self.late_url(n)}</link></item>"
                          for n in range(self.late))
        return super().feed().replace("</channel>", f"{entries}</channel>")

    def late_url(self, n: int) -> str:
        return self.url(f"/news/late-{n}.html")

    def respond(self, path: str, query: str) -> tuple[int, dict[str, str], bytes]:
        if path.startswith("/news/late-"):
            return 200, {"Content-Type": "text/html; charset=utf-8"}, article_html(1).encode()
        return super().respond(path, query)


@pytest.fixture
def growing_site() -> Iterator[GrowingSite]:
    site = GrowingSite()
    site.start()
    yield site
    site.stop()


def _alive(pid: int | None) -> bool:
    try:
        os.kill(pid or 0, 0)
    except ProcessLookupError:
        return False
    return pid is not None


def test_kafka_stopped_for_30s_the_continuous_crawl_goes_on_and_loses_nothing(
    settings: Settings, growing_site: GrowingSite, private_kafka: Settings
) -> None:
    test_site = growing_site
    s = quick(settings, kafka_bootstrap_servers=manager.SERVICES["kafka"].endpoint(private_kafka))
    ensure_topics(s)
    source = Source(name="test-site", feeds=[test_site.feed_url], sitemaps=[test_site.robots_url],
                    sections=[test_site.section_url], article_pattern=r"/news/")
    run = Running(s, [source])
    try:
        wait_until(lambda: all(test_site.path_hits(f"/news/{n}.html") >= 1 for n in TITLES), 90, "every article fetched")
        manager.down(private_kafka, ["kafka"])
        down_at = time.monotonic()
        test_site.late = 3
        while time.monotonic() - down_at < OUTAGE_S:
            assert run.thread.is_alive() and _alive(run.pid), f"the crawl ended during the outage: {run.error}"
            time.sleep(1.0)
        manager.up(private_kafka, ["kafka"])
        wait_until(lambda: all(test_site.path_hits(f"/news/late-{n}.html") >= 1 for n in range(3))
                   or not run.thread.is_alive(), 90, "the articles of the outage fetched")
        assert run.thread.is_alive(), f"the crawl ended after the outage: {run.error}"
    finally:
        report = run.stop()
    assert report.ok, report
    keys = {key for key, _page in read_topic(s, s.topic_pages, FetchedPage)}
    assert keys >= {document_id(test_site.article_url(n)).encode() for n in TITLES}
    assert keys >= {document_id(test_site.late_url(n)).encode() for n in range(3)}, "an article of the outage lost"

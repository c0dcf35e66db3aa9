"""The crawl process serves its metrics while it crawls: the child process
that fetches is scraped over HTTP, as Prometheus would scrape a container."""
from __future__ import annotations

import pytest

from crawlers.sources import Source
from tests.crawlers.site import TITLES, TestSite
from tests.crawlers.support import Running, quick, wait_until
from tests.observability_support import free_port, health, readiness, scrape, value

pytestmark = pytest.mark.services


def test_a_running_crawl_serves_pages_bytes_robots_refusals_liveness_and_readiness(settings, test_site: TestSite):
    port = free_port()
    source = Source(name="test-site", feeds=[test_site.feed_url], sitemaps=[test_site.robots_url],
                    article_pattern=r"/news/")
    run = Running(quick(settings, metrics_port=port), [source])
    try:
        seen: dict = {}  # type: ignore[type-arg]

        def crawled() -> bool:
            try:
                seen.update(scrape(port))
            except OSError:  # the crawl process is still starting
                return False
            return (value(seen, "rasd_crawl_pages_total", source="test-site", status="200") >= len(TITLES)
                    and value(seen, "rasd_crawl_robots_refused_total", source="test-site") >= 1)

        wait_until(crawled, 120, "the crawl's metrics show its pages and the robots.txt refusal")
        samples = scrape(port)
        assert value(samples, "rasd_crawl_bytes_total", source="test-site") > 0
        # robots.txt itself is Scrapy's request, of no source
        assert value(samples, "rasd_crawl_pages_total", source="", status="200") >= 1
        assert value(samples, "rasd_liveness") == 1.0
        status, body = health(port)
        assert status == 200 and body["stage"] == "crawl"
        # the continuous crawl keeps its state in the engine: readiness asks it
        status, body = readiness(port)
        assert status == 200 and body["checks"] == {"loop": "started", "kafka": "ok", "engine": "ok"}
        lags = [name for name, labels in samples if name == "rasd_kafka_consumer_lag"
                and dict(labels)["group"] == settings.crawler_group_id]
        assert lags, "the frontier consumer's lag is measured"
    finally:
        report = run.stop()
    assert report.ok

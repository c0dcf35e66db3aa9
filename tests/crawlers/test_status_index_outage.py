"""The search engine holding the status index goes away for a while: the
continuous crawl waits for it and goes on, losing and repeating nothing."""
import time
from urllib.parse import urlsplit

import pytest

from crawlers.sources import Source
from tests.crawlers.site import TestSite
from tests.crawlers.support import Running, SwitchableProxy, quick, wait_until

pytestmark = pytest.mark.services
REACHABLE = (1, 2, 3, 6, 7, 8)  # from the feed and the section page


def test_a_status_index_outage_pauses_the_crawl_without_losing_or_repeating(settings, test_site: TestSite):
    engine = urlsplit(settings.search_url)
    proxy = SwitchableProxy(engine.hostname, engine.port)
    hits = lambda: {n: test_site.path_hits(f"/news/{n}.html") for n in REACHABLE}  # noqa: E731
    try:
        source = Source(
            name="test-site", feeds=[test_site.feed_url], sections=[test_site.section_url], article_pattern=r"/news/"
        )
        # one request every half second, so the outage falls in the middle of the crawl
        run = Running(quick(settings, search_url=proxy.url, crawl_download_delay_s=0.5), [source])
        wait_until(lambda: sum(hits().values()) >= 2, 90, "first articles")
        proxy.cut()
        time.sleep(6)
        proxy.restore()
        wait_until(lambda: all(hits().values()), 120, "every article")
        time.sleep(4)  # a few more rounds: nothing may come twice
        report = run.stop()
    finally:
        proxy.close()
    assert report.finish_reason == "shutdown" and report.publish_errors == 0
    # status updates that could not be written were kept and written later
    assert hits() == {n: 1 for n in REACHABLE}

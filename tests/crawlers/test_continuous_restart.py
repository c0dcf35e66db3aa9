import pytest

from crawlers.sources import Source
from tests.crawlers.site import TITLES, TestSite
from tests.crawlers.support import Running, quick, wait_until

pytestmark = pytest.mark.services


def test_continuous_crawl_fetches_each_article_once_and_resumes_without_refetching(settings, test_site: TestSite):
    source = Source(
        name="test-site",
        feeds=[test_site.feed_url],
        sitemaps=[test_site.robots_url],
        sections=[test_site.section_url],
        article_pattern=r"/news/",
    )
    s = quick(settings)
    run = Running(s, [source])
    wait_until(lambda: all(test_site.path_hits(f"/news/{n}.html") >= 1 for n in TITLES), 90, "every article fetched")
    report = run.stop()
    print(report)
    hits = {n: test_site.path_hits(f"/news/{n}.html") for n in TITLES}
    print(hits, dict(test_site.hits))
    polled = test_site.path_hits("/feed.xml")
    run = Running(s, [source])
    wait_until(lambda: test_site.path_hits("/feed.xml") >= polled + 2, 60, "feed polled again")
    run.stop()
    assert {n: test_site.path_hits(f"/news/{n}.html") for n in TITLES} == hits

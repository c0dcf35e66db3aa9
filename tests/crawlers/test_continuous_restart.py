import time

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


def test_new_articles_are_refetched_on_the_configured_plan_under_the_same_document_id(settings, test_site: TestSite):
    from collections import Counter

    from ingest.identity import document_id
    from ingest.models import FetchedPage
    from tests.crawlers.topics import read_topic

    source = Source(name="test-site", sections=[test_site.section_url], article_pattern=r"/news/")
    # the section page links articles 6 and 1: each is fetched, once more
    # 3 s later, then never again
    run = Running(quick(settings, crawl_refetch_after_s=[3.0]), [source])
    wait_until(lambda: all(test_site.path_hits(f"/news/{n}.html") >= 2 for n in (1, 6)), 60, "the planned re-fetches")
    time.sleep(5)
    run.stop()
    assert [test_site.path_hits(f"/news/{n}.html") for n in (1, 6)] == [2, 2]
    keys = Counter(key for key, page in read_topic(settings, settings.topic_pages, FetchedPage))
    assert keys == {document_id(test_site.article_url(n)).encode(): 2 for n in (1, 6)}

import asyncio

import pytest
from scrapy import Request
from scrapy.utils.test import get_crawler

from crawlers.middlewares.robots import ExpiringRobotsTxtMiddleware


class Downloads:
    """Stands in for the engine: counts robots.txt downloads."""

    def __init__(self) -> None:
        self.count = 0

    async def download_async(self, request):
        from scrapy.http import TextResponse

        self.count += 1
        return TextResponse(request.url, body=b"User-agent: *\nCrawl-delay: 2\n", encoding="utf-8")


@pytest.fixture
def mw():
    crawler = get_crawler(settings_dict={"ROBOTSTXT_OBEY": True, "RASD_ROBOTS_TTL_S": 60.0})
    crawler.engine = Downloads()
    return ExpiringRobotsTxtMiddleware.from_crawler(crawler)


def parse(mw, url="https://news.example/a"):
    return asyncio.run(mw.robot_parser(Request(url)))


def test_robots_txt_is_read_once_while_fresh_and_again_once_expired(mw, monkeypatch):
    import crawlers.middlewares.robots as robots

    clock = [1000.0]
    monkeypatch.setattr(robots.time, "monotonic", lambda: clock[0])
    assert parse(mw).crawl_delay("RasdBot") == 2
    parse(mw)
    assert mw.crawler.engine.count == 1
    clock[0] += 61
    parse(mw)
    assert mw.crawler.engine.count == 2
    # another site has its own clock
    parse(mw, "https://other.example/b")
    assert mw.crawler.engine.count == 3


class RefusedThenServed(Downloads):
    """The first robots.txt download is refused by this process's own gate
    (the host belonged to another crawler then); later ones are served."""

    refused = False

    async def download_async(self, request):
        from scrapy.exceptions import IgnoreRequest

        if not self.refused:
            self.refused = True
            raise IgnoreRequest("host not owned by this process")
        return await super().download_async(request)


def test_a_robots_txt_download_refused_by_this_process_is_not_remembered_as_no_robots_txt():
    crawler = get_crawler(settings_dict={"ROBOTSTXT_OBEY": True, "RASD_ROBOTS_TTL_S": 60.0})
    crawler.engine = RefusedThenServed()
    mw = ExpiringRobotsTxtMiddleware.from_crawler(crawler)
    assert parse(mw) is None  # nothing known yet; the gate decides that request
    # the next request reads robots.txt again and gets its rules and Crawl-delay
    assert parse(mw).crawl_delay("RasdBot") == 2
    assert crawler.engine.count == 1  # served once, and kept while fresh
    parse(mw)
    assert crawler.engine.count == 1


class Unreadable(Downloads):
    """robots.txt answers ``status`` (or raises ``error``), then is served."""

    def __init__(self, status=500, error=None):
        super().__init__()
        self.status, self.error = status, error

    async def download_async(self, request):
        from scrapy.http import TextResponse

        self.count += 1
        if self.count == 1:
            if self.error is not None:
                raise self.error
            return TextResponse(request.url, status=self.status, body=b"<html>error</html>", encoding="utf-8")
        return TextResponse(request.url, body=b"User-agent: *\nDisallow: /private/\n", encoding="utf-8")


@pytest.mark.parametrize("download", [Unreadable(status=503), Unreadable(error=TimeoutError("took longer than 3 s"))])
def test_an_unreadable_robots_txt_disallows_the_site_until_it_is_read_again(download, monkeypatch):
    import crawlers.middlewares.robots as robots
    from crawlers.middlewares.robots import RobotsUnavailable

    clock = [1000.0]
    monkeypatch.setattr(robots.time, "monotonic", lambda: clock[0])
    crawler = get_crawler(settings_dict={"ROBOTSTXT_OBEY": True, "RASD_ROBOTS_RETRY_S": 300.0})
    crawler.engine = download
    mw = ExpiringRobotsTxtMiddleware.from_crawler(crawler)
    with pytest.raises(RobotsUnavailable, match="robots.txt unavailable"):
        asyncio.run(mw.process_request(Request("https://news.example/a")))
    clock[0] += 299
    with pytest.raises(RobotsUnavailable):
        asyncio.run(mw.process_request(Request("https://news.example/b")))
    assert download.count == 1
    clock[0] += 2
    # read again: its own rules apply from now on
    asyncio.run(mw.process_request(Request("https://news.example/a")))
    assert download.count == 2


def test_a_missing_robots_txt_allows_everything():
    crawler = get_crawler(settings_dict={"ROBOTSTXT_OBEY": True})
    crawler.engine = Unreadable(status=404)
    mw = ExpiringRobotsTxtMiddleware.from_crawler(crawler)
    assert asyncio.run(mw.process_request(Request("https://news.example/private/x"))) is None

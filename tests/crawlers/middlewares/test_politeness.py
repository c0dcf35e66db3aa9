import asyncio
import time

import pytest
from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.test import get_crawler

from crawlers.middlewares.politeness import GATE_META, NotOwned, PolitenessMiddleware

HOST = "news.example"


@pytest.fixture
def mw():
    crawler = get_crawler(settings_dict={"RASD_POLITENESS_DELAY": 0.0, "CONCURRENT_REQUESTS_PER_DOMAIN": 2})
    crawler.crawling = True  # as while a crawl runs (a stopping crawl drops waiting requests)
    return PolitenessMiddleware.from_crawler(crawler)


def start(mw, url=f"https://{HOST}/a"):
    """Pass a request through the gate; fail fast instead of hanging if it would wait."""
    request = Request(url)
    asyncio.run(asyncio.wait_for(mw.process_request(request), timeout=0.2))
    return request


class FakeOwnership:
    partitions = 12

    def __init__(self, *hosts):
        self.hosts = set(hosts)

    def owns(self, host):
        return host in self.hosts


def test_a_started_request_is_counted_in_flight_for_its_host(mw):
    request = start(mw)
    assert request.meta[GATE_META] == HOST
    assert mw.policy.hosts[HOST].in_flight == 1


def test_429_with_retry_after_holds_the_host(mw):
    request = start(mw)
    response = Response(request.url, status=429, headers={"Retry-After": "120"}, request=request)
    assert mw.process_response(request, response) is response
    held_for = mw.policy.hosts[HOST].not_before - time.monotonic()
    assert 119 < held_for <= 120
    assert mw.policy.hosts[HOST].in_flight == 0
    assert mw.crawler.stats.get_value("rasd/host_holds") == 1


def test_a_successful_response_puts_no_hold(mw):
    request = start(mw)
    mw.process_response(request, Response(request.url, status=200, request=request))
    assert mw.policy.hosts[HOST].not_before == 0.0
    assert mw.policy.hosts[HOST].in_flight == 0


def test_an_exception_frees_the_in_flight_slot(mw):
    first, _second = start(mw), start(mw)
    assert mw.policy.hosts[HOST].in_flight == 2
    # a download error counts as a failure (backoff) but still frees the slot
    assert mw.process_exception(first, ConnectionError("reset")) is None
    assert mw.policy.hosts[HOST].in_flight == 1
    assert mw.policy.hosts[HOST].consecutive_errors == 1


def test_an_ignored_request_frees_its_slot_without_a_hold(mw):
    first, _second = start(mw), start(mw)
    mw.process_exception(first, IgnoreRequest("dropped"))
    assert mw.policy.hosts[HOST].consecutive_errors == 0
    start(mw)  # the freed place is available at once
    assert mw.policy.hosts[HOST].in_flight == 2


def test_a_request_for_a_host_not_owned_is_dropped(mw):
    mw.ownership = FakeOwnership("mine.example")
    with pytest.raises(NotOwned):
        start(mw, "https://theirs.example/a")
    assert mw.crawler.stats.get_value("rasd/not_owned_dropped") == 1
    assert "theirs.example" not in mw.policy.hosts or mw.policy.hosts["theirs.example"].in_flight == 0
    # an owned host goes through
    assert start(mw, "https://mine.example/a").meta[GATE_META] == "mine.example"


def test_a_request_waiting_for_its_host_is_dropped_when_the_crawl_stops(mw):
    from crawlers.politeness import Stopping

    mw.crawler.crawling = False
    with pytest.raises(Stopping):
        start(mw)


def test_servers_on_different_ports_of_one_host_keep_their_own_politeness(mw):
    down = start(mw, "http://127.0.0.1:1/x")
    mw.process_exception(down, ConnectionRefusedError())
    assert mw.policy.hosts["127.0.0.1:1"].not_before > 0
    # the failing server's backoff does not hold the healthy one
    assert start(mw, "http://127.0.0.1:8800/a").meta[GATE_META] == "127.0.0.1:8800"

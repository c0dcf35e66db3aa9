import pytest
from scrapy import Request
from scrapy.http import HtmlResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawlers.records import failure_record

URL = "https://news.example/ar/news/1"


def http_failure(status, retry_times=None):
    meta = {} if retry_times is None else {"retry_times": retry_times}
    request = Request(URL, meta=meta)
    response = HtmlResponse(URL, status=status, body=b"<html></html>", request=request)
    failure = Failure(HttpError(response, "Ignoring non-200 response"))
    failure.request = request
    return failure


def test_a_404_is_reported_without_mentioning_retries():
    record = failure_record(http_failure(404), URL, source="daily")
    assert record.detail == "page: HTTP 404"
    assert "after" not in record.detail
    assert (record.reason, record.http_status) == ("http_error", 404)


@pytest.mark.parametrize(("retries", "wording"), [(1, "after 1 retry"), (2, "after 2 retries")])
def test_a_retried_server_error_says_how_often_it_was_retried(retries, wording):
    record = failure_record(http_failure(500, retry_times=retries), URL, source="daily", what="feed")
    assert record.detail == f"feed: HTTP 500 {wording}"

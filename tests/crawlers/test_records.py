from datetime import datetime, timezone

import pytest
from scrapy import Request
from scrapy.exceptions import CannotResolveHostError, DownloadCancelledError, DownloadTimeoutError, IgnoreRequest
from scrapy.http import HtmlResponse, Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawlers.discovery import Hints
from crawlers.records import (
    build_page,
    failure_record,
    header_dict,
    is_html,
    not_html,
    page_or_too_large,
    requested_url,
)
from ingest.models import DeadLetter, FetchedPage

ARABIC = '<html lang="ar" dir="rtl"><body><h1>عنوان</h1><p>نص الخبر</p></body></html>'.encode()


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("text/html; charset=windows-1256", True),
        ("TEXT/HTML", True),
        ("application/xhtml+xml", True),
        ("application/pdf", False),
        ("application/rss+xml; charset=utf-8", False),
        ("text/plain", False),
    ],
)
def test_html_is_recognised_by_media_type_whatever_the_parameters(content_type, expected):
    assert is_html(content_type) is expected


def test_missing_content_type_trusts_scrapys_sniffing():
    url = "https://news.example/a"
    assert is_html(None, HtmlResponse(url, body=ARABIC))
    assert not is_html(None, Response(url, body=b"%PDF-1.4"))


def test_headers_get_lower_case_names_and_str_values():
    response = HtmlResponse(
        "https://news.example/a",
        headers={"Content-Type": "text/html; charset=utf-8", "Set-Cookie": ["a=1", "b=2"], "X-Cache": "HIT"},
        body=ARABIC,
    )
    assert header_dict(response) == {
        "content-type": "text/html; charset=utf-8",
        "set-cookie": "a=1, b=2",
        "x-cache": "HIT",
    }


def redirected_response() -> HtmlResponse:
    request = Request(
        "https://news.example/a/1",
        meta={"redirect_urls": ["https://news.example/go/1?utm_source=rss"]},
    )
    return HtmlResponse(
        "https://news.example/a/1", status=200, headers={"Content-Type": "text/html"}, body=ARABIC, request=request
    )


def test_page_keeps_the_requested_url_and_the_final_url_after_redirects():
    response = redirected_response()
    assert requested_url(response) == "https://news.example/go/1?utm_source=rss"
    fetched_at = datetime(2024, 5, 6, tzinfo=timezone.utc)
    hints = Hints(title="عنوان", published_at=datetime(2024, 5, 5, tzinfo=timezone.utc))
    page = build_page(response, source="daily", via="feed", hints=hints, fetched_at=fetched_at)
    assert page.url == "https://news.example/go/1?utm_source=rss"
    assert page.final_url == "https://news.example/a/1"
    assert (page.status, page.source, page.discovered_via) == (200, "daily", "feed")
    assert (page.hint_title, page.hint_published_at, page.fetched_at) == (hints.title, hints.published_at, fetched_at)
    assert page.body() == ARABIC
    assert page.content_type == "text/html"


def test_page_whose_message_exceeds_the_kafka_limit_becomes_a_too_large_dead_letter():
    page = build_page(redirected_response(), source="daily", via="sitemap", hints=Hints())
    assert page_or_too_large(page, 1_000_000) is page
    record = page_or_too_large(page, 200)
    assert isinstance(record, DeadLetter)
    assert (record.stage, record.reason, record.url, record.source) == ("crawl", "too_large", page.final_url, "daily")
    assert "limit 200" in record.detail


def test_not_html_dead_letter_names_the_content_type():
    response = Response("https://news.example/r.pdf", headers={"Content-Type": "application/pdf"}, body=b"%PDF")
    record = not_html(response, source="daily")
    assert (record.reason, record.http_status) == ("not_html", 200)
    assert "application/pdf" in record.detail


def failure_of(exc: Exception) -> Failure:
    return Failure(exc)


def test_http_error_after_retries_is_an_http_error_dead_letter_with_status():
    response = TextResponse("https://news.example/x", status=503, body=b"busy")
    record = failure_record(failure_of(HttpError(response, "Ignoring non-200 response")), response.url, source="d", what="feed")
    assert (record.reason, record.http_status) == ("http_error", 503)
    assert record.detail.startswith("feed:")


@pytest.mark.parametrize(
    ("exc", "label"),
    [
        (CannotResolveHostError("no such host"), "DNS lookup failed"),
        (DownloadTimeoutError("took longer than 30 seconds"), "timed out"),
        (ConnectionResetError("reset"), "ConnectionResetError"),
    ],
)
def test_network_failures_are_fetch_failed_dead_letters(exc, label):
    record = failure_record(failure_of(exc), "https://news.example/x", source="d")
    assert record.reason == "fetch_failed"
    assert label in record.detail


def test_robots_refusal_is_not_a_dead_letter():
    assert failure_record(failure_of(IgnoreRequest("Forbidden by robots.txt")), "https://news.example/p", source="d") is None


@pytest.mark.parametrize(
    "exc",
    [
        DownloadCancelledError("Received 9000000 bytes which is larger than download max size (8388608) in request <GET x>."),
        IgnoreRequest("Ignored response <200 x> because its body (9000000 B compressed) is larger than the download max size (8388608 B)."),
    ],
)
def test_download_over_the_size_limit_is_a_too_large_dead_letter(exc):
    record = failure_record(failure_of(exc), "https://news.example/huge", source="d")
    assert record.reason == "too_large"


def _decompression_refusal() -> IgnoreRequest:
    # what Scrapy 2.19's HttpCompressionMiddleware raises for a gzip bomb
    from scrapy.utils._compression import _DecompressionMaxSizeExceeded

    try:
        try:
            raise _DecompressionMaxSizeExceeded(8454144, 8388608)
        except ValueError as cause:
            raise IgnoreRequest("Ignored response <200 x> because its body exceeded DOWNLOAD_MAXSIZE (8388608 B) during decompression.") from cause
    except IgnoreRequest as exc:
        return exc


def test_a_body_that_inflates_or_streams_past_the_limit_is_too_large_not_a_fetch_failure():
    from crawlers.size_limit import BodyTooLarge

    for exc in (_decompression_refusal(), BodyTooLarge(8425092, 8388608, "https://news.example/endless")):
        record = failure_record(failure_of(exc), "https://news.example/huge", source="d")
        assert record.reason == "too_large", exc


def test_an_unfollowed_redirect_says_where_it_led():
    response = TextResponse("https://news.example/go", status=302, headers={"Location": "file:///etc/passwd"}, body=b"")
    record = failure_record(failure_of(HttpError(response, "Ignoring non-200 response")), response.url, source="d")
    assert (record.reason, record.http_status) == ("http_error", 302)
    assert record.detail == "page: HTTP 302, redirect to file:///etc/passwd not followed"


def test_records_are_valid_contract_models():
    page = build_page(redirected_response(), source="daily", via="section", hints=Hints())
    assert FetchedPage.model_validate_json(page.model_dump_json()) == page

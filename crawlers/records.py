"""Turning responses and download failures into topic records
(``FetchedPage`` or ``DeadLetter``). No I/O: the spider calls these."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.http import HtmlResponse, Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from ingest.content_types import is_html_type
from ingest.kafka_io import encode
from ingest.models import DeadLetter, FetchedPage, compress, utcnow

from crawlers.addresses import AddressRefused
from crawlers.discovery import Hints
from crawlers.middlewares.robots import RobotsUnavailable
from crawlers.politeness import Dropped
from crawlers.size_limit import BodyTooLarge

Via = Literal["feed", "sitemap", "section", "seed"]


def is_html(content_type: str | None, response: Response | None = None) -> bool:
    """HTML by its declared type; with no Content-Type at all, trust
    Scrapy's sniffing (an HtmlResponse) rather than dropping the page."""
    declared = is_html_type(content_type)
    return isinstance(response, HtmlResponse) if declared is None else declared


def header_dict(response: Response) -> dict[str, str]:
    """Response headers with lower-cased names and str values (repeated
    headers joined with ", " as HTTP allows)."""
    out: dict[str, str] = {}
    for name, values in response.headers.items():
        key = name.decode("latin-1").lower()
        out[key] = ", ".join(v.decode("latin-1") for v in values)
    return out


def requested_url(response: Response) -> str:
    """The URL the spider asked for, before any redirect."""
    redirects = response.request.meta.get("redirect_urls") if response.request else None
    return redirects[0] if redirects else response.url


def build_page(
    response: Response, *, source: str, via: Via, hints: Hints, fetched_at: datetime | None = None
) -> FetchedPage:
    return FetchedPage(
        url=requested_url(response),
        final_url=response.url,
        status=response.status,
        headers=header_dict(response),
        fetched_at=fetched_at or utcnow(),
        source=source,
        discovered_via=via,
        hint_title=hints.title,
        hint_published_at=hints.published_at,
        body_zstd=compress(response.body),
    )


def encoded_size(page: FetchedPage) -> int:
    """Bytes the page takes on the topic: the JSON message, where the
    compressed body is base64 (4/3 larger). This, not the compressed body
    alone, is what Kafka's message limit applies to."""
    return len(encode(page))


def page_or_too_large(page: FetchedPage, max_message_bytes: int) -> FetchedPage | DeadLetter:
    size = encoded_size(page)
    if size <= max_message_bytes:
        return page
    return DeadLetter(
        stage="crawl",
        reason="too_large",
        detail=f"page is {size} bytes as a message ({len(page.body_zstd)} compressed body), limit {max_message_bytes}",
        url=page.final_url,
        http_status=page.status,
        source=page.source,
    )


def not_html(response: Response, *, source: str) -> DeadLetter:
    content_type = response.headers.get(b"Content-Type")
    shown = content_type.decode("latin-1") if content_type else "none"
    return DeadLetter(
        stage="crawl",
        reason="not_html",
        detail=f"content type {shown}, {len(response.body)} bytes",
        url=response.url,
        http_status=response.status,
        source=source,
    )


def _is_redirect_limit(exc: BaseException) -> bool:
    # Scrapy's RedirectMiddleware says so only in the message
    return "max redirections" in str(exc)


def _is_size_limit(failure: Failure) -> bool:
    if failure.check(BodyTooLarge):
        return True
    exc = failure.value
    # Scrapy says so only in words: a declared Content-Length over
    # DOWNLOAD_MAXSIZE is a DownloadCancelledError ("... max size ..."); a
    # compressed body that inflates past it (a gzip bomb) is an IgnoreRequest
    # raised from its decompression error, which carries the sizes
    return "max size" in str(exc) or hasattr(exc.__cause__, "max_size")


def is_robots_refusal(failure: Failure) -> bool:
    if failure.check(RobotsUnavailable):
        return False
    return failure.check(IgnoreRequest) is not None and "robots.txt" in str(failure.value)


def is_unfollowed_redirect(status: int) -> bool:
    return 300 <= status < 400


def failure_record(failure: Failure, url: str, *, source: str, what: str = "page") -> DeadLetter | None:
    """Dead letter for a request that produced no usable response, or None
    for refusals that are policy rather than failure (robots.txt)."""
    exc = failure.value
    if failure.check(Dropped):
        return None
    if failure.check(HttpError):
        response = exc.response
        request = getattr(failure, "request", None) or response.request
        retries = int(request.meta.get("retry_times", 0)) if request is not None else 0
        # only statuses Scrapy retries (5xx, 429, 408) ever were
        tried = f" after {retries} retr{'y' if retries == 1 else 'ies'}" if retries else ""
        location = response.headers.get(b"Location")
        # a redirect reaches the spider only when Scrapy would not follow it
        # (ftp:, file:, data:...): say where it led
        where = f", redirect to {location.decode('latin-1')[:200]} not followed" if is_unfollowed_redirect(response.status) and location else ""
        return DeadLetter(
            stage="crawl",
            reason="http_error",
            detail=f"{what}: HTTP {response.status}{tried}{where}",
            url=url,
            http_status=response.status,
            source=source,
        )
    if failure.check(AddressRefused):
        return DeadLetter(stage="crawl", reason="address_refused", detail=f"{what}: {exc}", url=url, source=source)
    if _is_size_limit(failure):
        return DeadLetter(stage="crawl", reason="too_large", detail=f"{what}: {exc}", url=url, source=source)
    if failure.check(RobotsUnavailable):
        return DeadLetter(stage="crawl", reason="fetch_failed", detail=f"{what}: {exc}"[:2000], url=url, source=source)
    if failure.check(IgnoreRequest):
        if is_robots_refusal(failure):
            return None
        if _is_redirect_limit(exc):
            return DeadLetter(
                stage="crawl", reason="fetch_failed", detail=f"{what}: redirect loop or too many redirects: {exc}", url=url, source=source
            )
        return DeadLetter(stage="crawl", reason="fetch_failed", detail=f"{what}: ignored: {exc}", url=url, source=source)
    kind = {
        CannotResolveHostError: "DNS lookup failed",
        DownloadConnectionRefusedError: "connection refused",
        DownloadTimeoutError: "timed out",
        DownloadCancelledError: "download cancelled",
        ResponseDataLossError: "truncated response (body shorter than its Content-Length)",
    }
    label = next((text for cls, text in kind.items() if failure.check(cls)), type(exc).__name__)
    return DeadLetter(
        stage="crawl", reason="fetch_failed", detail=f"{what}: {label}: {exc}"[:2000], url=url, source=source
    )

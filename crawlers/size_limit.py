"""A body that grows past DOWNLOAD_MAXSIZE while it streams (no
Content-Length, or an endless chunked answer) is stopped with a reason.

Scrapy stops such a download by itself, but reports it as a bare
``DownloadCancelledError`` that says nothing of the size, so the page would
look like a passing network failure and be tried again and again. Counting
the bytes here (Scrapy's ``bytes_received`` signal, the documented way to
stop a download) ends it at the same limit with ``BodyTooLarge``: a
``too_large`` dead letter, final. A declared Content-Length over the limit
and a compressed body that inflates past it are refused by Scrapy with
their sizes in the message, before any of this."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scrapy import Request, signals
from scrapy.exceptions import StopDownload

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler

RECEIVED_META = "rasd_bytes_received"


class BodyTooLarge(StopDownload):
    def __init__(self, received: int, limit: int, url: str) -> None:
        super().__init__(fail=True)
        self.received = received
        self.limit = limit
        self.url = url

    def __str__(self) -> str:
        return f"body passed {self.limit} bytes (DOWNLOAD_MAXSIZE) while downloading {self.url}: stopped at {self.received}"


class BodySizeLimit:
    """A Scrapy extension (it only listens to signals)."""

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        mw = cls(crawler.settings.getint("DOWNLOAD_MAXSIZE"))
        crawler.signals.connect(mw.headers_received, signal=signals.headers_received)
        crawler.signals.connect(mw.bytes_received, signal=signals.bytes_received)
        return mw

    def headers_received(self, request: Request, **_: Any) -> None:
        # each download counts from zero (a retry or a redirect copies the meta)
        request.meta[RECEIVED_META] = 0

    def bytes_received(self, data: bytes, request: Request, **_: Any) -> None:
        limit = int(request.meta.get("download_maxsize", self.max_size) or 0)
        if not limit:
            return
        received = request.meta.get(RECEIVED_META, 0) + len(data)
        request.meta[RECEIVED_META] = received
        if received > limit:
            raise BodyTooLarge(received, limit, request.url)

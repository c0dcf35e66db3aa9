"""Scrapy log lines for Rasd records: Scrapy's default prints the whole item,
which for a page is kilobytes of compressed body bytes."""
from __future__ import annotations

from typing import Any

from scrapy import Spider
from scrapy.http import Response
from scrapy.logformatter import LogFormatter, LogFormatterResult
from twisted.python.failure import Failure

from ingest.models import DeadLetter, FetchedPage


def summary(item: Any) -> str:
    if isinstance(item, FetchedPage):
        return f"page {item.final_url} ({item.status}, {len(item.body_zstd)} B compressed, via {item.discovered_via})"
    if isinstance(item, DeadLetter):
        return f"dead letter {item.reason} {item.url}: {item.detail}"
    return type(item).__name__


class RecordLogFormatter(LogFormatter):
    def scraped(self, item: Any, response: Response | Failure | None, spider: Spider) -> LogFormatterResult:
        result = super().scraped(item, response, spider)
        result["args"] = {**result["args"], "item": summary(item)}
        return result

    def dropped(
        self, item: Any, exception: BaseException, response: Response | Failure | None, spider: Spider
    ) -> LogFormatterResult:
        result = super().dropped(item, exception, response, spider)
        result["args"] = {**result["args"], "item": summary(item)}
        return result

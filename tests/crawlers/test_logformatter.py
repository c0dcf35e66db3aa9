from datetime import datetime, timezone

from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from crawlers.logformatter import RecordLogFormatter
from crawlers.spiders.news import NewsSpider
from crawlers.sources import Source
from ingest.models import DeadLetter, FetchedPage, compress
from ingest.settings import Settings


def test_scraped_log_line_summarizes_records_instead_of_dumping_page_bytes():
    crawler = get_crawler(NewsSpider, {"RASD_SETTINGS": Settings()})
    spider = NewsSpider.from_crawler(crawler, sources=[Source(name="d", feeds=["https://d.example/rss"])])
    body = compress("خبر ".encode() * 500)
    page = FetchedPage(
        url="https://d.example/a", final_url="https://d.example/a", status=200,
        fetched_at=datetime(2024, 5, 6, tzinfo=timezone.utc), source="d", body_zstd=body,
    )
    response = HtmlResponse("https://d.example/a", body=b"<html></html>")
    line = RecordLogFormatter().scraped(page, response, spider)
    text = line["msg"] % line["args"]
    assert "page https://d.example/a (200" in text and repr(body[:20]) not in text
    letter = DeadLetter(stage="crawl", reason="not_html", detail="content type application/pdf", url="https://d.example/r.pdf")
    line = RecordLogFormatter().scraped(letter, response, spider)
    assert "dead letter not_html https://d.example/r.pdf" in line["msg"] % line["args"]

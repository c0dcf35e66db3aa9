import random
from datetime import datetime, timezone

import pytest
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from crawlers.pipelines import KafkaPublishPipeline
from ingest.identity import document_id
from ingest.models import DeadLetter, FetchedPage, compress
from tests.crawlers.topics import read_topic

pytestmark = pytest.mark.services

WHEN = datetime(2024, 5, 6, 9, 30, tzinfo=timezone.utc)


def page(n: int) -> FetchedPage:
    return FetchedPage(
        url=f"https://news.example/go/{n}?utm_source=rss",
        final_url=f"https://news.example/a/{n}",
        status=200,
        headers={"content-type": "text/html; charset=utf-8"},
        fetched_at=WHEN,
        source="daily",
        discovered_via="feed",
        body_zstd=compress(f'<html dir="rtl"><body><p>خبر رقم {n}</p></body></html>'.encode()),
    )


def open_pipeline(settings, **scrapy_settings) -> tuple[KafkaPublishPipeline, object]:
    crawler = get_crawler(settings_dict={"RASD_SETTINGS": settings, **scrapy_settings})
    pipeline = KafkaPublishPipeline.from_crawler(crawler)
    pipeline.open_spider()
    return pipeline, crawler


def test_pages_reach_their_topic_keyed_by_document_id_and_dead_letters_by_their_input(settings):
    pipeline, crawler = open_pipeline(settings, RASD_SEND_CHECK_EVERY_ITEMS=2)
    letter = DeadLetter(stage="crawl", reason="not_html", detail="content type application/pdf", url="https://news.example/r.pdf", source="daily")
    for item in (page(1), page(2), page(3), letter):
        assert pipeline.process_item(item) is item
    pipeline.close_spider()

    pages = read_topic(settings, settings.topic_pages, FetchedPage)
    assert sorted(p.final_url for _, p in pages) == [f"https://news.example/a/{n}" for n in (1, 2, 3)]
    assert all(key == document_id(p.final_url).encode() for key, p in pages)
    assert {p.final_url: p for _, p in pages}["https://news.example/a/2"] == page(2)

    ((key, dead),) = read_topic(settings, settings.topic_dead_letters, DeadLetter)
    assert dead == letter and key == letter.key.encode()

    stats = crawler.stats
    assert stats.get_value("rasd/pages_published") == 3
    assert stats.get_value("rasd/dead_letters/not_html") == 1
    assert stats.get_value("rasd/publish_errors") is None


def test_something_that_is_not_a_rasd_record_is_dropped(settings):
    pipeline, _ = open_pipeline(settings)
    try:
        with pytest.raises(DropItem, match="not a Rasd record"):
            pipeline.process_item({"url": "https://news.example/a"})
    finally:
        pipeline.close_spider()



def test_record_kafka_refuses_is_counted_as_a_publish_error_not_lost_silently(settings):
    small = settings.model_copy(update={"kafka_max_message_bytes": 1_000})
    pipeline, crawler = open_pipeline(small)
    huge = page(1).model_copy(update={"body_zstd": random.Random(3).randbytes(200_000)})
    try:
        with pytest.raises(DropItem, match="Kafka refused"):
            pipeline.process_item(huge)
        assert crawler.stats.get_value("rasd/publish_errors") == 1
        assert crawler.stats.get_value("rasd/pages_published") is None
        with pytest.raises(DropItem, match="crawl is closing"):
            pipeline.process_item(page(2))
    finally:
        pipeline.close_spider()

from crawlers.settings import download_slots, scrapy_settings
from crawlers.sources import Source
from ingest.settings import Settings


def test_rasd_settings_become_scrapy_settings():
    rasd = Settings(
        crawl_user_agent="TestBot/1",
        crawl_contact_url="https://example.org/bot",
        crawl_download_delay_s=1.25,
        crawl_concurrency_per_domain=3,
        crawl_max_page_bytes=123_456,
        crawl_obey_robots=True,
        log_level="warning",
    )
    result = scrapy_settings(rasd)
    assert result.get("RASD_SETTINGS") is rasd
    assert result.get("USER_AGENT") == "TestBot/1 (+https://example.org/bot)"
    # the politeness middleware owns the delay; Scrapy's own slot delay and
    # AutoThrottle would only add a second, lowered clock
    assert result.getfloat("RASD_POLITENESS_DELAY") == 1.25
    assert result.getfloat("DOWNLOAD_DELAY") == 0.0 and not result.getbool("AUTOTHROTTLE_ENABLED")
    assert "crawlers.middlewares.politeness.PolitenessMiddleware" in result.getdict("DOWNLOADER_MIDDLEWARES")
    assert result.getint("CONCURRENT_REQUESTS_PER_DOMAIN") == 3
    assert result.getint("DOWNLOAD_MAXSIZE") == 123_456
    assert result.get("LOG_LEVEL") == "WARNING"
    assert result.getbool("ROBOTSTXT_OBEY")
    assert not result.getbool("HTTPCACHE_ENABLED")
    assert not result.getbool("TELNETCONSOLE_ENABLED") and not result.getbool("REMOTE_CONTROL_ENABLED")
    assert result.getlist("RETRY_HTTP_CODES") == [500, 502, 503, 504, 408, 429]
    assert result.getint("RETRY_TIMES") == 2
    assert result.get("DUPEFILTER_CLASS") == "crawlers.dupefilter.CanonicalUrlDupeFilter"
    assert "crawlers.pipelines.KafkaPublishPipeline" in result.getdict("ITEM_PIPELINES")


def test_overrides_win_over_rasd_settings():
    result = scrapy_settings(Settings(crawl_download_delay_s=2.0), DOWNLOAD_DELAY=0, CLOSESPIDER_TIMEOUT=30)
    assert result.getfloat("DOWNLOAD_DELAY") == 0
    assert result.getint("CLOSESPIDER_TIMEOUT") == 30


def test_per_source_delay_and_concurrency_become_per_host_download_slots():
    slow = Source(name="slow", feeds=["https://slow.example/rss"], download_delay_s=2.0, concurrency=1)
    shared = Source(name="shared", feeds=["https://slow.example/other-rss", "https://fast.example/rss"], concurrency=4)
    plain = Source(name="plain", feeds=["https://plain.example/rss"])
    assert download_slots([slow, shared, plain]) == {
        "slow.example": {"delay": 2.0, "concurrency": 1},
        "fast.example": {"concurrency": 4},
    }

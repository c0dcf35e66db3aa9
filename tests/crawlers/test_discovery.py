import gzip
import re
from datetime import datetime, timezone

import pytest

from crawlers.discovery import (
    DiscoveryError,
    is_robots_url,
    parse_feed,
    parse_sitemap,
    parse_w3c_datetime,
    section_links,
    sitemaps_in_robots,
)

BASE = "https://news.example/feed.xml"

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>أخبار</title>
<item><title>  البنك   المركزي يثبت الفائدة </title><link>https://news.example/a/1?utm_source=rss</link>
<pubDate>Tue, 07 May 2024 08:15:00 +0300</pubDate></item>
<item><title>رابط نسبي</title><link>/a/2</link></item>
<item><title>بلا رابط</title></item>
<item><title>بريد</title><link>mailto:desk@news.example</link></item>
</channel></rss>""".encode()

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>أخبار</title>
<entry><title>خبر أتوم</title><link rel="alternate" href="https://news.example/atom/1"/>
<updated>2024-05-01T10:00:00Z</updated></entry></feed>""".encode()


def test_rss_items_become_article_links_with_title_and_utc_date_hints():
    links = parse_feed(RSS, BASE, "application/rss+xml")
    assert [link.url for link in links] == ["https://news.example/a/1?utm_source=rss", "https://news.example/a/2"]
    first = links[0].hints
    assert first.title == "البنك المركزي يثبت الفائدة"
    assert first.published_at == datetime(2024, 5, 7, 5, 15, tzinfo=timezone.utc)
    assert links[1].hints.published_at is None


def test_atom_entries_use_the_alternate_link_and_updated_date():
    (link,) = parse_feed(ATOM, BASE)
    assert link.url == "https://news.example/atom/1"
    assert link.hints.published_at == datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)


def test_feed_with_a_syntax_error_still_yields_its_entries():
    broken = RSS.replace(b"</channel></rss>", b"<item><title>x &nbsp; y</title></channel>")
    assert len(parse_feed(broken, BASE)) == 2


@pytest.mark.parametrize("body", [b"<html><body><p>maintenance</p></body></html>", b"", b"\x00\x01garbage"])
def test_body_that_is_not_a_feed_raises_discovery_error(body):
    with pytest.raises(DiscoveryError, match="not a feed"):
        parse_feed(body, BASE)


URLSET = """<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>https://news.example/a/1</loc><lastmod>2024-05-09</lastmod>
  <news:news><news:publication><news:name>أخبار</news:name><news:language>ar</news:language></news:publication>
  <news:publication_date>2024-05-06T10:00:00+03:00</news:publication_date><news:title>عنوان الخبر</news:title></news:news></url>
<url><loc>https://news.example/a/2</loc><lastmod>2024-05-03T12:00Z</lastmod></url>
<url><loc>https://news.example/a/3</loc></url>
</urlset>""".encode()

INDEX = b"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>https://news.example/sitemaps/1.xml</loc></sitemap>
<sitemap><loc>https://news.example/sitemaps/2.xml.gz</loc><lastmod>2024-05-01</lastmod></sitemap>
</sitemapindex>"""


def test_urlset_gives_articles_with_news_title_and_publication_date_preferred_to_lastmod():
    content = parse_sitemap(URLSET, "https://news.example/sitemap.xml")
    assert content.kind == "urlset" and content.sitemaps == []
    first, second, third = content.articles
    assert first.url == "https://news.example/a/1"
    assert first.hints.title == "عنوان الخبر"
    assert first.hints.published_at == datetime(2024, 5, 6, 7, 0, tzinfo=timezone.utc)
    assert second.hints.title is None
    assert second.hints.published_at == datetime(2024, 5, 3, 12, 0, tzinfo=timezone.utc)
    assert third.hints.published_at is None


def test_sitemap_index_gives_child_sitemaps_not_articles():
    content = parse_sitemap(INDEX, "https://news.example/sitemap_index.xml")
    assert content.kind == "sitemapindex"
    assert content.sitemaps == ["https://news.example/sitemaps/1.xml", "https://news.example/sitemaps/2.xml.gz"]
    assert content.articles == []


def test_gzipped_sitemap_is_decompressed():
    content = parse_sitemap(gzip.compress(URLSET), "https://news.example/sitemap.xml.gz")
    assert len(content.articles) == 3


def test_gzipped_sitemap_over_the_size_limit_is_refused():
    with pytest.raises(DiscoveryError, match="too large"):
        parse_sitemap(gzip.compress(URLSET), "https://news.example/sitemap.xml.gz", max_size=100)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty sitemap"),
        (b"<html><body>maintenance</body></html>", "root element is <html>"),
        (b"this is not xml at all", "not XML"),
        (b"\x1f\x8b\x08garbage", "broken gzip"),
    ],
)
def test_unreadable_sitemap_raises_discovery_error(body, message):
    with pytest.raises(DiscoveryError, match=message):
        parse_sitemap(body, "https://news.example/sitemap.xml")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-06", datetime(2024, 5, 6, tzinfo=timezone.utc)),
        ("2024-05-06T10:00:00+03:00", datetime(2024, 5, 6, 7, tzinfo=timezone.utc)),
        ("2024-05-06T10:00Z", datetime(2024, 5, 6, 10, tzinfo=timezone.utc)),
        ("yesterday", None),
        ("", None),
        (None, None),
    ],
)
def test_w3c_datetimes_are_parsed_to_utc(text, expected):
    assert parse_w3c_datetime(text) == expected


def test_robots_sitemap_lines_become_absolute_unique_urls():
    robots = b"User-agent: *\nDisallow: /private/\nSitemap: /sitemap_index.xml\nsitemap: https://news.example/news.xml\nSitemap: /sitemap_index.xml\n"
    assert sitemaps_in_robots(robots, "https://news.example/robots.txt") == [
        "https://news.example/sitemap_index.xml",
        "https://news.example/news.xml",
    ]


def test_robots_url_is_recognised_by_its_path():
    assert is_robots_url("https://news.example/robots.txt")
    assert not is_robots_url("https://news.example/sitemap.xml")


SECTION = """<html dir="rtl"><body>
<a href="/2024/05/a-1.html">خبر</a> <a href="/2024/05/a-1.html#comments">تعليقات</a>
<a href="https://cdn.news.example/2024/05/a-2.html">خبر</a>
<a href="https://other.example/2024/05/a-3.html">موقع آخر</a>
<a href="/about">من نحن</a> <a href="javascript:void(0)">x</a> <a href="">self</a>
</body></html>"""


def test_section_links_follow_same_site_links_matching_the_pattern_once():
    links = list(
        section_links(
            SECTION,
            "https://news.example/politics/",
            same_site=lambda host: host in ("news.example", "cdn.news.example"),
            pattern=re.compile(r"/20\d\d/"),
        )
    )
    assert links == ["https://news.example/2024/05/a-1.html", "https://cdn.news.example/2024/05/a-2.html"]


def test_section_links_without_pattern_keep_every_same_site_link_but_the_page_itself():
    links = list(section_links(SECTION, "https://news.example/politics/", same_site=lambda h: h == "news.example", pattern=None))
    assert links == ["https://news.example/2024/05/a-1.html", "https://news.example/about"]

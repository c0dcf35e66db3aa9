import pytest

from crawlers.discovery import feeds_in_html, is_navigation_link

BASE = "https://news.example/ar/"

HOMEPAGE = b"""<html><head>
<link rel="stylesheet" href="/static/site.css" type="text/css">
<link rel="alternate" type="application/rss+xml" title="RSS" href="/ar/rss.xml">
<link rel="Alternate" type="application/atom+xml; charset=utf-8" href="feeds/atom">
<link rel="alternate" hreflang="fr" href="https://news.example/fr/">
<link rel="alternate" type="application/rss+xml" href="https://news.example/ar/rss.xml">
<link rel="alternate" type="text/html" href="/ar/mobile">
<link rel="icon" type="application/rss+xml" href="/not-a-feed.xml">
</head><body><a href="/ar/rss2.xml" type="application/rss+xml">RSS</a></body></html>"""


def test_announced_feeds_are_found_resolved_and_listed_once():
    assert feeds_in_html(HOMEPAGE, BASE) == [
        "https://news.example/ar/rss.xml",
        "https://news.example/ar/feeds/atom",
    ]


def test_page_without_alternates_announces_no_feed():
    assert feeds_in_html('<html><head><link rel="stylesheet" href="a.css"></head></html>', BASE) == []


@pytest.mark.parametrize(
    "url",
    [
        "https://news.example/",
        "https://news.example",
        "https://news.example/politics?page=3",
        "https://news.example/politics/page/2",
        "https://news.example/archive/2026/11/27",
        "https://news.example/archive/2026/11/27/",
        "https://news.example/2026/11",
        "https://news.example/tag/elections",
        "https://news.example/category/economy/",
        "https://news.example/calendar?month=7",
        "https://news.example/events/calendar/",
        "https://news.example/archive?year=2026&month=11",
    ],
)
def test_listing_like_links_are_navigation(url):
    assert is_navigation_link(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://news.example/ar/news/2026/11/27/123-slug.html",
        "https://news.example/news/123",
        "https://news.example/politique/2026/11/27/slug-123",
    ],
)
def test_article_links_are_not_navigation(url):
    assert not is_navigation_link(url)

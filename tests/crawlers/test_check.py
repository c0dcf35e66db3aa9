from crawlers.check import Fetched, check_source, render
from crawlers.sources import Source

UA = "RasdBot/0.1"

HOMEPAGE = b"""<html><head>
<link rel="alternate" type="application/rss+xml" href="/rss.xml">
</head><body><a href="/news/1">one</a></body></html>"""

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Weekly</title>
<item><title>One</title><link>https://weekly.example/news/1</link></item>
<item><title>Two</title><link>https://weekly.example/news/2</link></item>
</channel></rss>"""

SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<url><loc>https://weekly.example/news/1</loc></url>
<url><loc>https://weekly.example/news/2</loc></url>
<url><loc>https://weekly.example/news/3</loc></url>
</urlset>"""

ROBOTS = b"""User-agent: *
Crawl-delay: 5
Disallow: /private/
Sitemap: https://weekly.example/sitemap.xml
"""

SITE = {
    "https://weekly.example/": Fetched(200, HOMEPAGE, "text/html"),
    "https://weekly.example/robots.txt": Fetched(200, ROBOTS, "text/plain"),
    "https://weekly.example/rss.xml": Fetched(200, RSS, "application/rss+xml"),
    "https://weekly.example/sitemap.xml": Fetched(200, SITEMAP, "application/xml"),
}


def fetcher(responses):
    """fetch(url) over canned responses; anything else is a 404. Records what was asked."""
    asked = []

    def fetch(url):
        asked.append(url)
        return responses.get(url, Fetched(404))

    fetch.asked = asked
    return fetch


def test_homepage_source_discovers_feeds_and_sitemaps():
    report = check_source(Source(name="weekly", homepage="https://weekly.example/"), fetcher(SITE), UA)
    assert report.ok, report.problems
    assert report.crawl_delay_s == 5.0
    found = {(item.kind, item.url): (item.ok, item.detail, item.discovered) for item in report.listings}
    assert found == {
        ("homepage", "https://weekly.example/"): (True, "announces 1 feed(s)", False),
        ("robots", "https://weekly.example/robots.txt"): (True, "names 1 sitemap(s)", False),
        ("feed", "https://weekly.example/rss.xml"): (True, "2 article link(s)", True),
        ("sitemap", "https://weekly.example/sitemap.xml"): (True, "3 article link(s)", True),
    }


def test_render_marks_discovered_listings_and_the_crawl_delay():
    report = check_source(Source(name="weekly", homepage="https://weekly.example/"), fetcher(SITE), UA)
    text = render([report])
    assert text.splitlines()[0] == "weekly: ok (Crawl-delay 5 s)"
    assert "https://weekly.example/rss.xml (discovered): 2 article link(s)" in text
    assert "https://weekly.example/sitemap.xml (discovered): 3 article link(s)" in text
    assert "https://weekly.example/ (discovered)" not in text  # configured, not discovered


def test_a_configured_feed_announced_again_is_checked_once():
    fetch = fetcher(SITE)
    source = Source(name="weekly", homepage="https://weekly.example/", feeds=["https://weekly.example/rss.xml"])
    report = check_source(source, fetch, UA)
    feeds = [item for item in report.listings if item.kind == "feed"]
    assert [(f.url, f.discovered) for f in feeds] == [("https://weekly.example/rss.xml", False)]
    assert fetch.asked.count("https://weekly.example/rss.xml") == 1


def test_a_failing_feed_makes_the_source_not_ok():
    responses = {"https://daily.example/rss": Fetched(500, b"oops")}
    report = check_source(Source(name="daily", feeds=["https://daily.example/rss"]), fetcher(responses), UA)
    assert not report.ok
    assert report.problems == ["feed https://daily.example/rss: HTTP 500"]
    text = render([report])
    assert text.startswith("daily: PROBLEMS")
    assert "  ! feed" in text
    assert "problem: feed https://daily.example/rss: HTTP 500" in text


def test_a_fetch_error_is_reported_instead_of_a_status():
    responses = {"https://daily.example/rss": Fetched(None, error="connection refused")}
    report = check_source(Source(name="daily", feeds=["https://daily.example/rss"]), fetcher(responses), UA)
    assert report.problems == ["feed https://daily.example/rss: connection refused"]


def test_a_missing_robots_txt_is_not_a_problem():
    site = {url: got for url, got in SITE.items() if not url.endswith("robots.txt")}
    report = check_source(Source(name="weekly", homepage="https://weekly.example/"), fetcher(site), UA)
    assert report.ok, report.problems
    assert report.crawl_delay_s is None


def test_robots_txt_forbidding_the_homepage_is_a_problem():
    site = {**SITE, "https://weekly.example/robots.txt": Fetched(200, b"User-agent: *\nDisallow: /\n")}
    report = check_source(Source(name="weekly", homepage="https://weekly.example/"), fetcher(site), UA)
    assert not report.ok
    assert report.problems == [f"robots.txt forbids the homepage https://weekly.example/ to {UA}"]

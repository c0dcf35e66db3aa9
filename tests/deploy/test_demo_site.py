"""The demo news site over real HTTP on 127.0.0.1, and what trafilatura
extracts from its pages."""
from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import lxml.html
import pytest
import structlog
import trafilatura

from deploy.demo_site import SIDEBAR_ONLY_WORD, DemoArticle, DemoSite, generate_articles, load_articles
from deploy.demo_site.content import SEED_SLUG, load_furniture, read_seed_text
from ingest.settings import get_settings

NS = {
    "sm": "http://www.sitemaps.org/schemas/sitemap/0.9",
    "news": "http://www.google.com/schemas/sitemap-news/0.9",
}


@pytest.fixture(scope="module")
def site() -> Iterator[DemoSite]:
    with DemoSite() as running:
        yield running


def fetch(url: str, method: str = "GET") -> tuple[int, dict[str, str], bytes, str]:
    """(status, headers, body, final URL), following redirects; HTTP errors
    are returned, not raised."""
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read(), response.url
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read(), url


def fetch_no_redirect(url: str) -> http.client.HTTPResponse:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    connection.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""))
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def extract(html: bytes, url: str) -> trafilatura.settings.Document:
    document = trafilatura.bare_extraction(html, url=url, include_comments=False, with_metadata=True)
    assert document is not None, url
    return document


def furniture_lines() -> list[str]:
    """Visible texts of the page furniture that must never be extracted."""
    furniture = load_furniture()
    lines = [furniture["cookie"]["text"], furniture["newsletter"]["text"], furniture["footer"]["about"],
             furniture["footer"]["copyright"], furniture["comments"]["policy"]]
    lines += furniture["ticker"]["items"] + furniture["most_read"]["items"]
    lines += [text for _, text in furniture["comments"]["pool"]]
    return lines


def by_slug(site: DemoSite, slug: str) -> DemoArticle:
    return next(a for a in site.articles if a.slug == slug)


# --- site structure ---------------------------------------------------------------

def test_home_page_links_every_section_article_and_the_private_draft(site: DemoSite) -> None:
    status, headers, body, _ = fetch(site.base_url + "/")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    page = lxml.html.fromstring(body)
    assert page.get("lang") == "ar" and page.get("dir") == "rtl"
    links = set(page.xpath("//a/@href"))
    assert {f"/section/{name}/" for name in load_furniture().sections} <= links
    assert {a.path for a in site.articles} <= links
    assert urlsplit(site.private_url).path in links


def test_section_pages_list_exactly_their_articles(site: DemoSite) -> None:
    for name in load_furniture().sections:
        status, _, body, _ = fetch(site.url(f"/section/{name}/"))
        assert status == 200
        listed = set(lxml.html.fromstring(body).xpath("//ul[@class='news-list']//a/@href"))
        assert listed == {a.path for a in site.articles if a.section == name}, name
    assert fetch(site.url("/section/astrology/"))[0] == 404


def test_robots_txt_disallows_private_and_names_the_sitemap(site: DemoSite) -> None:
    status, headers, body, _ = fetch(site.url("/robots.txt"))
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    lines = body.decode().splitlines()
    assert "User-agent: *" in lines
    assert "Disallow: /private/" in lines
    assert f"Sitemap: {site.sitemap_url}" in lines
    assert urlsplit(site.private_url).path.startswith("/private/")


def test_feed_is_rss2_with_every_article_and_rfc822_dates(site: DemoSite) -> None:
    status, headers, body, _ = fetch(site.feed_url)
    assert status == 200 and "rss+xml" in headers["Content-Type"]
    root = ET.fromstring(body)
    assert root.tag == "rss" and root.get("version") == "2.0"
    items = root.findall("./channel/item")
    assert len(items) == len(site.articles)
    for item, article in zip(items, site.articles):
        assert item.findtext("title") == article.title
        assert item.findtext("description")
        assert parsedate_to_datetime(item.findtext("pubDate")) == article.published_at


def test_feed_carries_a_legacy_redirect_and_a_tracking_link(site: DemoSite) -> None:
    links = [item.findtext("link") for item in ET.fromstring(fetch(site.feed_url)[2]).findall("./channel/item")]
    legacy = [link for link in links if "/article.php?id=" in link]
    tracked = [link for link in links if "utm_source=rss" in link]
    assert len(legacy) == 1 and len(tracked) == 1
    response = fetch_no_redirect(legacy[0])
    assert response.status == 301
    assert response.getheader("Location") in site.article_urls()
    status, _, body, final_url = fetch(tracked[0])
    assert status == 200
    canonical = lxml.html.fromstring(body).xpath("//link[@rel='canonical']/@href")
    assert canonical == [tracked[0].split("?")[0]]


def test_legacy_url_with_unknown_id_is_404(site: DemoSite) -> None:
    assert fetch(site.url("/article.php?id=9999"))[0] == 404
    assert fetch(site.url("/article.php"))[0] == 404


def _sitemap_locs(site: DemoSite) -> list[ET.Element]:
    index = ET.fromstring(fetch(site.sitemap_url)[2])
    assert index.tag == f"{{{NS['sm']}}}sitemapindex"
    children = [loc.text for loc in index.findall("sm:sitemap/sm:loc", NS)]
    assert children == [site.url("/sitemaps/news.xml")]
    urlset = ET.fromstring(fetch(children[0])[2])
    assert urlset.tag == f"{{{NS['sm']}}}urlset"
    return urlset.findall("sm:url", NS)


def test_sitemap_index_points_to_a_news_urlset_with_lastmod(site: DemoSite) -> None:
    entries = _sitemap_locs(site)
    by_loc = {entry.findtext("sm:loc", namespaces=NS): entry for entry in entries}
    for article in site.articles:
        entry = by_loc[site.url(article.path)]
        assert entry.findtext("sm:lastmod", namespaces=NS)
        assert entry.findtext("news:news/news:title", namespaces=NS) == article.title
        assert entry.findtext("news:news/news:publication/news:language", namespaces=NS) == "ar"
        assert entry.findtext("news:news/news:publication_date", namespaces=NS) == article.published_at.isoformat()
    assert site.private_url not in by_loc


def test_feed_and_sitemap_together_list_every_article(site: DemoSite) -> None:
    found = {entry.findtext("sm:loc", namespaces=NS) for entry in _sitemap_locs(site)}
    for item in ET.fromstring(fetch(site.feed_url)[2]).findall("./channel/item"):
        found.add(fetch(item.findtext("link"))[3].split("?")[0])  # follow the redirect
    assert set(site.article_urls()) <= found
    assert set(site.fault_urls().values()) <= found


# --- encodings, faults, HTTP behaviour -----------------------------------------------

def test_windows_1256_page_declares_its_charset_and_is_not_utf8(site: DemoSite) -> None:
    article = next(a for a in site.articles if a.encoding == "windows-1256")
    status, headers, body, _ = fetch(site.url(article.path))
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=windows-1256"
    assert b'<meta charset="windows-1256">' in body
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    text = body.decode("windows-1256")
    for paragraph in article.paragraphs:
        assert paragraph in text


def test_faults_answer_500_pdf_and_a_page_without_article_text(site: DemoSite) -> None:
    faults = site.fault_urls()
    assert set(faults) == {"http_500", "not_html", "empty"}
    assert fetch(faults["http_500"])[0] == 500
    status, headers, body, _ = fetch(faults["not_html"])
    assert status == 200 and headers["Content-Type"] == "application/pdf" and body.startswith(b"%PDF-")
    status, _, body, _ = fetch(faults["empty"])
    assert status == 200
    page = lxml.html.fromstring(body)
    assert page.xpath("//h1") and page.xpath("//aside[contains(@class,'sidebar')]")
    assert page.xpath("//div[@class='article-body']//p") == []
    # trafilatura falls back to the article header chrome (title, byline,
    # share labels); it must stay below the ingest's article threshold
    leftover = extract(body, faults["empty"]).text
    assert len(leftover) < get_settings().min_article_chars, leftover
    assert not any(p in leftover for a in site.articles for p in a.paragraphs)


def test_faults_can_be_switched_off() -> None:
    with DemoSite(faults=False) as quiet:
        assert quiet.fault_urls() == {}
        news_sitemap = fetch(quiet.url("/sitemaps/news.xml"))[2].decode()
        for path in ("/files/report.pdf", "/empty.html", "parliament-session-live"):
            assert path not in news_sitemap
        assert fetch(quiet.url("/files/report.pdf"))[0] == 404
        assert fetch(quiet.url("/news/2024/05/parliament-session-live.html"))[0] == 404


def test_served_at_records_the_first_time_each_path_was_served() -> None:
    with DemoSite() as fresh:
        path = by_slug(fresh, "egypt-central-bank-holds-rates").path
        assert fresh.served_at == {}
        before = time.time()
        fetch(fresh.url(path) + "?utm_source=test")
        after = time.time()
        first = fresh.served_at[path]  # keyed by path, query dropped
        assert before <= first <= after
        fetch(fresh.url(path))
        assert fresh.served_at[path] == first
        fetch(fresh.url("/no/such/page"))
        assert set(fresh.served_at) == {path, "/no/such/page"}


def test_head_returns_headers_without_body(site: DemoSite) -> None:
    status, headers, body, _ = fetch(site.article_urls()[0], method="HEAD")
    assert status == 200 and body == b""
    assert int(headers["Content-Length"]) > 10_000


def test_unknown_path_is_404(site: DemoSite) -> None:
    assert fetch(site.url("/news/2024/05/does-not-exist.html"))[0] == 404


def test_concurrent_requests_all_succeed(site: DemoSite) -> None:
    urls = site.article_urls() * 8
    with ThreadPoolExecutor(max_workers=24) as pool:
        statuses = list(pool.map(lambda url: fetch(url)[0], urls))
    assert statuses == [200] * len(urls)


def test_request_lines_go_to_structlog_debug_not_stderr(site: DemoSite, capfd: pytest.CaptureFixture[str]) -> None:
    with structlog.testing.capture_logs() as logs:
        fetch(site.url("/robots.txt"))
        # the log call happens after the response is sent; give the thread a moment
        deadline = time.time() + 5
        while not any(e["event"] == "demo_site.request" for e in logs) and time.time() < deadline:
            time.sleep(0.01)
    requests = [entry for entry in logs if entry["event"] == "demo_site.request"]
    assert requests and all(entry["log_level"] == "debug" for entry in requests)
    assert "GET /robots.txt" not in capfd.readouterr().err


def test_start_twice_is_refused_and_stop_frees_the_site() -> None:
    demo = DemoSite()
    demo.start()
    with pytest.raises(RuntimeError):
        demo.start()
    url = demo.feed_url
    demo.stop()
    demo.stop()  # idempotent
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url, timeout=2)


# --- page template and extraction -------------------------------------------------------

def test_article_page_carries_news_metadata(site: DemoSite) -> None:
    article = by_slug(site, SEED_SLUG)
    page = lxml.html.fromstring(fetch(site.url(article.path))[2])
    meta = {m.get("property") or m.get("name"): m.get("content") for m in page.xpath("//meta[@content]")}
    assert meta["og:title"] == article.title
    assert meta["og:url"] == site.url(article.path)
    assert meta["article:published_time"] == article.published_at.isoformat()
    assert meta["description"] == article.summary
    assert page.xpath("//link[@rel='canonical']/@href") == [site.url(article.path)]
    ld = json.loads(page.xpath("//script[@type='application/ld+json']/text()")[0])
    assert ld["@type"] == "NewsArticle" and ld["headline"] == article.title
    assert ld["datePublished"] == article.published_at.isoformat()
    assert ld["dateModified"] and ld["author"][0]["name"] == article.author
    assert ld["publisher"]["name"] == load_furniture().name
    furniture = load_furniture()
    html = lxml.html.tostring(page, encoding="unicode")
    for expected in (furniture["ad_label"], furniture["read_also"], furniture["most_read"]["title"],
                     furniture["newsletter"]["title"], furniture["comments"]["title"], furniture["ticker"]["label"],
                     furniture["cookie"]["accept"], furniture["footer"]["copyright"], article.image_caption):
        assert expected in html
    assert page.xpath("//figure/figcaption") and page.xpath("//nav[@class='breadcrumb']")
    assert len(page.xpath("//ol[@class='comment-list']/li")) in (2, 3)


def test_seed_page_extracts_to_exactly_the_seed_paragraphs(site: DemoSite) -> None:
    article = by_slug(site, SEED_SLUG)
    document = extract(fetch(site.url(article.path))[2], site.url(article.path))
    lines = document.text.split("\n")
    seed_lines = read_seed_text().splitlines()
    leaked = [line for line in lines if line not in seed_lines]
    missing = [line for line in seed_lines if line not in lines]
    assert not leaked, f"furniture leaked: {leaked}"
    assert not missing, f"paragraphs lost: {missing}"
    assert lines == seed_lines  # and in order
    assert document.title == article.title
    assert document.date == article.published_at.date().isoformat()
    assert document.author == article.author


@pytest.mark.parametrize("slug", [a.slug for a in load_articles()])
def test_every_article_page_extracts_to_its_own_paragraphs(site: DemoSite, slug: str) -> None:
    article = by_slug(site, slug)
    text = extract(fetch(site.url(article.path))[2], site.url(article.path)).text
    assert text.split("\n") == article.paragraphs
    for line in furniture_lines():
        assert line not in text
    assert SIDEBAR_ONLY_WORD not in text


def test_sidebar_only_word_is_on_every_article_page_but_in_no_body(site: DemoSite) -> None:
    for article in site.articles:
        body = fetch(site.url(article.path))[2].decode(article.encoding)
        assert SIDEBAR_ONLY_WORD in body
        assert SIDEBAR_ONLY_WORD not in article.text


def test_generated_site_pages_extract_cleanly_and_are_all_discoverable() -> None:
    with DemoSite(generate_articles(60, seed=3)) as big:
        found = {e.findtext("sm:loc", namespaces=NS) for e in _sitemap_locs(big)}
        assert set(big.article_urls()) <= found
        for article in big.articles[::6]:
            text = extract(fetch(big.url(article.path))[2], big.url(article.path)).text
            assert text.split("\n") == article.paragraphs, article.slug


def _feed_links(site: DemoSite) -> list[str]:
    return [item.findtext("link") for item in ET.fromstring(fetch(site.feed_url)[2]).findall("./channel/item")]


def test_gradual_site_publishes_oldest_first_at_its_rate_and_hides_the_rest() -> None:
    articles = generate_articles(6)
    with DemoSite(articles, faults=False, gradual=True, feed_limit=2) as site:
        oldest, newest = site.articles[-1], site.articles[0]
        assert site.published_count() == 0
        assert _feed_links(site) == []
        assert fetch(site.url(oldest.path))[0] == 404
        site.publish_gradually(5.0)
        times = site.publication_times()
        assert times[oldest.path] < times[site.articles[-2].path] < times[newest.path]
        assert times[newest.path] - times[oldest.path] == pytest.approx(1.0)
        assert site.published_count(now=times[oldest.path]) == 1
        assert site.published_count(now=times[newest.path] + 10) == 6
        published_first = site.published_count()
        assert fetch(site.url(oldest.path))[0] == 200
        if published_first < 6:
            assert fetch(site.url(newest.path))[0] == 404
        deadline = time.monotonic() + 10
        while site.published_count() < 6:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert fetch(site.url(newest.path))[0] == 200
        # the feed keeps only the newest entries; the sitemap lists all
        links = _feed_links(site)
        assert len(links) == 2 and links[0] == site.url(newest.path)
        news = ET.fromstring(fetch(site.url("/sitemaps/news.xml"))[2])
        assert len(news.findall("sm:url", NS)) == 6


def test_site_publishing_everything_at_once_cannot_publish_gradually(site: DemoSite) -> None:
    assert site.published_count() == len(site.articles)
    with pytest.raises(RuntimeError):
        site.publish_gradually(1.0)

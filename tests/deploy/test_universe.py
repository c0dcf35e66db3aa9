"""The fixture universe of loopback news sites (deploy.universe): what it
serves, the discovery hints and faults it promises, conditional GET,
publishing while running, the request log, and the generated benchmark
universe. Plain urllib; no Kafka, no crawler."""
from __future__ import annotations

import gzip
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from html import unescape
from urllib.parse import parse_qsl, urljoin, urlsplit, urlunsplit

import pytest
import yaml

from deploy.universe import CRAWLER_HEADER, Universe, fixture_universe, generated_universe
from deploy.universe.fixtures import CLOSED_PORT_URL

REPO_ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


@dataclass
class Fetched:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def text(self) -> str:
        charset = re.search(r"charset=([\w-]+)", self.content_type)
        return self.body.decode(charset.group(1) if charset else "utf-8")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None  # surface 3xx to the test


_OPENER = urllib.request.build_opener(_NoRedirect)


def fetch(url: str, headers: dict[str, str] | None = None, method: str = "GET") -> Fetched:
    request = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with _OPENER.open(request, timeout=10) as resp:
            return Fetched(resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read())
    except urllib.error.HTTPError as err:
        return Fetched(err.code, {k.lower(): v for k, v in err.headers.items()}, err.read())


def _strip_tracking(url: str) -> str:
    parts = urlsplit(url)
    kept = [(k, v) for k, v in parse_qsl(parts.query) if not k.startswith("utm_")]
    query = "&".join(f"{k}={v}" for k, v in kept)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def links_in(url: str, fetched: Fetched) -> tuple[set[str], set[str]]:
    """(article-ish links, child sitemaps) found in a feed, sitemap or HTML page."""
    body = fetched.body
    if fetched.content_type.startswith("application/x-gzip"):
        body = gzip.decompress(body)
    if fetched.content_type.startswith("text/html"):
        hrefs = re.findall(r'<a [^>]*href="([^"]+)"', fetched.text())
        return {_strip_tracking(urljoin(url, unescape(h))) for h in hrefs}, set()
    root = ET.fromstring(body)
    kind = _local(root.tag)
    if kind == "sitemapindex":
        return set(), {el.text.strip() for el in root.iter() if _local(el.tag) == "loc" and el.text}
    if kind == "urlset":
        return {_strip_tracking(el.text.strip()) for el in root.iter() if _local(el.tag) == "loc" and el.text}, set()
    if kind == "rss":
        return {_strip_tracking(item.findtext("link", "").strip()) for item in root.iter("item")}, set()
    if kind == "feed":
        return {_strip_tracking(el.get("href", "")) for el in root.iter() if _local(el.tag) == "link"
                and el.get("rel", "alternate") == "alternate" and "/feeds/" not in el.get("href", "")}, set()
    raise AssertionError(f"unexpected document at {url}: {kind}")


def discover(site_entry: dict, base: str) -> tuple[set[str], dict[str, Fetched]]:
    """What a correct crawler reads from a source entry: its listings, plus
    feeds announced on the homepage and sitemaps named in robots.txt when
    only a homepage is given. Returns (links found, listing responses)."""
    queue = [*site_entry.get("feeds", []), *site_entry.get("sitemaps", []), *site_entry.get("sections", [])]
    if "homepage" in site_entry:
        home = fetch(site_entry["homepage"])
        if home.status == 200:
            for href in re.findall(r'<link rel="alternate" type="application/(?:rss|atom)\+xml"[^>]*href="([^"]+)"', home.text()):
                queue.append(urljoin(base, href))
            queue.append(site_entry["homepage"])
        robots = fetch(base + "/robots.txt")
        if robots.status == 200:
            queue += re.findall(r"(?im)^sitemap:\s*(\S+)", robots.text())
    found: set[str] = set()
    seen: dict[str, Fetched] = {}
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        seen[url] = got = fetch(url)
        if got.status != 200:
            continue
        links, children = links_in(url, got)
        found |= links
        queue += children
    return found, seen


@pytest.fixture(scope="module")
def universe() -> Iterator[Universe]:
    with fixture_universe() as u:
        yield u


# -- serving -----------------------------------------------------------------


def test_import_starts_nothing() -> None:
    code = "import threading, deploy.universe, deploy.universe.__main__; assert threading.active_count() == 1"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO_ROOT, timeout=60)


def test_every_site_has_its_own_loopback_host(universe: Universe) -> None:
    hosts = {urlsplit(universe.base_url(name)).hostname for name in universe.sites}
    assert len(hosts) == len(universe.sites) >= 7
    assert all(re.fullmatch(r"127\.0\.0\.\d+", h or "") for h in hosts)
    assert "127.0.0.1" not in hosts
    for name, site in universe.sites.items():
        assert site.homepage == universe.base_url(name) + "/"
        if name in ("slow", "down"):
            continue
        got = fetch(site.homepage)
        assert got.status == 200 and got.content_type == "text/html; charset=utf-8"
        assert f'lang="{site.language}"' in got.text()
        assert int(got.headers["content-length"]) == len(got.body)
        if 50 <= len(site.all_article_urls()) <= 70:
            continue
        pytest.fail(f"{name} has {len(site.all_article_urls())} articles")


def test_listings_have_the_right_content_types(universe: Universe) -> None:
    akhbar = universe.base_url("akhbar")
    assert fetch(akhbar + "/rss.xml").content_type == "application/rss+xml; charset=utf-8"
    assert fetch(akhbar + "/sitemap.xml").content_type == "application/xml; charset=utf-8"
    archive = fetch(akhbar + "/sitemaps/archive.xml.gz")
    assert archive.content_type == "application/x-gzip" and "content-encoding" not in archive.headers
    assert b"<urlset" in gzip.decompress(archive.body)
    news = fetch(akhbar + "/sitemaps/news.xml").text()
    assert "<news:publication_date>" in news and "<news:title>" in news
    sahafa = universe.base_url("sahafa")
    assert fetch(sahafa + "/feeds/latest").content_type.startswith("application/rss+xml")
    assert fetch(sahafa + "/feeds/atom").content_type.startswith("application/atom+xml")
    assert fetch(universe.base_url("novosti") + "/rss").content_type.startswith("application/rss+xml")
    assert fetch(universe.base_url("daily") + "/feed.xml").content_type.startswith("application/rss+xml")
    nouvelles = universe.base_url("nouvelles")
    assert fetch(nouvelles + "/sitemap_index.xml").content_type.startswith("application/xml")
    assert fetch(nouvelles + "/feed").status == 404  # no feed anywhere


def _main_links(url: str, html: str) -> set[str]:
    """Links in the page's main column (the sidebar's "most read" left out)."""
    main = html.split('most-read"', 1)[0]
    return {urljoin(url, unescape(h)) for h in re.findall(r'href="([^"]+)"', main)}


def test_discovery_hints(universe: Universe) -> None:
    sahafa = universe.sites["sahafa"]
    assert sahafa.source_entry() == {"name": "sahafa", "homepage": sahafa.homepage}
    home = fetch(sahafa.homepage).text()
    head = home.split("</head>", 1)[0]
    assert '<link rel="alternate" type="application/rss+xml" title="آخر الأخبار" href="/feeds/latest">' in head
    assert 'type="application/atom+xml"' in head and 'href="/feeds/atom"' in head
    robots = fetch(sahafa.url("/robots.txt")).text()
    assert "Crawl-delay: 1" in robots and "Disallow: /private/" in robots and "sitemap" not in robots.lower()
    assert len(_main_links(sahafa.homepage, home) & sahafa.expected_article_urls()) == 10

    nouvelles = universe.sites["nouvelles"]
    assert nouvelles.source_entry() == {"name": "nouvelles", "homepage": nouvelles.homepage}
    robots = fetch(nouvelles.url("/robots.txt")).text()
    assert re.findall(r"(?m)^Sitemap: (\S+)$", robots) == [nouvelles.url("/sitemap_index.xml"), nouvelles.url("/sitemap-news.xml")]
    home = fetch(nouvelles.homepage).text()
    assert "application/rss+xml" not in home and "application/atom+xml" not in home
    on_home = _main_links(nouvelles.homepage, home) & nouvelles.expected_article_urls()
    assert len(on_home) == len(nouvelles.expected_article_urls()) // 4


def test_expected_articles_are_listed_and_served(universe: Universe) -> None:
    universe.reset_faults()
    novosti = universe.sites["novosti"]
    one_shot = {novosti.throttled_url, novosti.unavailable_url}
    to_fetch: set[str] = set()
    for name, site in universe.sites.items():
        if name == "slow":
            continue  # 1.5 s a request: covered by test_slow_site
        entry = site.source_entry()
        found, _ = discover(entry, site.base_url)
        expected = site.expected_article_urls()
        assert expected <= found, f"{name}: expected but not listed: {sorted(expected - found)[:3]}"
        assert expected <= site.all_article_urls()
        to_fetch |= expected - one_shot
        if name == "sahafa":
            assert site.private_url in found  # listed by its feed, disallowed by robots.txt
    # akhbar: feed, sitemaps and sections each list ~60%, together everything.
    akhbar = universe.sites["akhbar"]
    for urls in ([akhbar.url("/rss.xml")], [akhbar.url("/sitemap.xml")],
                 [akhbar.url("/ar/section/politics"), akhbar.url("/ar/section/economy")]):
        found, _ = discover({"sitemaps": urls}, akhbar.base_url)
        share = len(found & akhbar.expected_article_urls()) / len(akhbar.all_article_urls())
        assert 0.5 <= share <= 0.7, (urls, share)
    sahafa = universe.sites["sahafa"]
    assert sahafa.private_url in sahafa.all_article_urls() and sahafa.private_url not in sahafa.expected_article_urls()
    assert len(sahafa.all_article_urls() - sahafa.expected_article_urls()) > 1  # old, unlisted ones too
    assert universe.sites["down"].expected_article_urls() == set()

    with ThreadPoolExecutor(16) as pool:
        pages = dict(zip(to_fetch, pool.map(fetch, to_fetch)))
    for url, got in pages.items():
        assert got.status == 200, url
        assert got.content_type.startswith("text/html; charset="), url
        text = got.text()
        for marker in ('<meta property="og:title"', '<link rel="canonical"', "<time datetime=", "most-read",
                       "cookie-banner", 'class="ad ', "comment-form", "share"):
            assert marker in text, (url, marker)
        assert f'<link rel="canonical" href="{url}">' in text
    cp1256 = universe.sites["akhbar"].windows_1256_url
    assert pages[cp1256].content_type == "text/html; charset=windows-1256"
    assert b'<meta charset="windows-1256">' in pages[cp1256].body
    assert "أخبار اليوم" in pages[cp1256].text()
    assert sum(1 for g in pages.values() if "windows-1256" in g.content_type) == 1
    # Sahafa is div soup, the others semantic; bodies differ from article to article.
    assert all("<article" not in g.text() for u, g in pages.items() if u.startswith(sahafa.base_url))
    bodies = [re.sub(r"<[^>]+>", "", g.text().split("<main", 1)[-1])[:400] for g in pages.values()]
    assert len(set(bodies)) == len(bodies)
    universe.reset_faults()


def test_traps_and_faults_are_not_expected(universe: Universe) -> None:
    daily = universe.sites["daily"]
    faults = daily.fault_urls
    feed_links, _ = links_in(daily.url("/feed.xml"), fetch(daily.url("/feed.xml")))
    assert set(faults.values()) <= feed_links
    assert not set(faults.values()) & daily.expected_article_urls()
    assert fetch(faults["not_found"]).status == 404
    moved = fetch(faults["redirect"])
    assert moved.status == 301 and moved.headers["location"] in daily.expected_article_urls()
    loop = fetch(faults["redirect_loop"])
    assert loop.status == 301 and fetch(loop.headers["location"]).headers["location"] == faults["redirect_loop"]
    assert fetch(faults["server_error"]).status == 500
    assert fetch(faults["server_error"]).status == 500
    pdf = fetch(faults["pdf"])
    assert pdf.status == 200 and pdf.content_type == "application/pdf" and pdf.body.startswith(b"%PDF")
    huge = fetch(faults["huge"], method="HEAD")
    assert huge.status == 200 and huge.content_type.startswith("text/html") and int(huge.headers["content-length"]) > 9_000_000
    assert faults["closed_port"] == CLOSED_PORT_URL
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(CLOSED_PORT_URL, timeout=5)

    # Pagination never ends and pages are not articles.
    page = fetch(daily.url("/world?page=57")).text()
    assert 'href="/world?page=58"' in page
    first = fetch(daily.url("/world")).text()
    assert 'href="/world?page=2"' in first
    # The archive calendar goes back forever.
    archive = fetch(daily.url("/archive/1999/01/01"))
    assert archive.status == 200 and 'href="/archive/1998/12/31"' in archive.text()
    assert 'href="/archive/2026/11/' in first
    assert not any("?page=" in u or "/archive/" in u for u in universe.expected_article_urls())


def test_conditional_get_answers_304(universe: Universe) -> None:
    novosti = universe.sites["novosti"]
    article = sorted(novosti.expected_article_urls() - {novosti.throttled_url, novosti.unavailable_url})[0]
    for url in (novosti.url("/rss"), novosti.url("/politics/"), novosti.url("/sitemap.xml"), article,
                universe.sites["akhbar"].url("/sitemaps/archive.xml.gz")):
        first = fetch(url)
        etag, modified = first.headers["etag"], first.headers["last-modified"]
        assert re.fullmatch(r'"[0-9a-f]+"', etag)
        assert fetch(url).body == first.body
        same = fetch(url, {"If-None-Match": etag})
        assert same.status == 304 and same.body == b"" and same.headers["etag"] == etag
        assert fetch(url, {"If-Modified-Since": modified}).status == 304
        assert fetch(url, {"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}).status == 200
        assert fetch(url, {"If-None-Match": '"stale"', "If-Modified-Since": modified}).status == 200


def test_throttled_article_answers_429_then_200(universe: Universe) -> None:
    novosti = universe.sites["novosti"]
    universe.reset_faults()
    url = novosti.throttled_url
    first = fetch(url)
    assert first.status == 429 and first.headers["retry-after"] == "2"
    time.sleep(2.0)
    again = fetch(url)
    assert again.status == 200
    path = urlsplit(url).path
    hits = [h for h in universe.hits_for("novosti") if h.path == path][-2:]
    assert [h.status for h in hits] == [429, 200]
    assert hits[1].started - hits[0].started >= 2.0

    unavailable = fetch(novosti.unavailable_url)
    assert unavailable.status == 503 and unavailable.headers["retry-after"] == "1"
    assert fetch(novosti.unavailable_url).status == 200


def test_publish_changes_listings(universe: Universe) -> None:
    akhbar = universe.sites["akhbar"]
    feed = akhbar.url("/rss.xml")
    before = fetch(feed)
    assert fetch(feed).body == before.body  # byte-identical until something is published
    section = fetch(akhbar.url("/ar/section/politics")).body
    new = universe.publish("akhbar", 2)
    assert len(new) == 2 and set(new) <= akhbar.expected_article_urls()
    after = fetch(feed)
    assert after.body != before.body and after.headers["etag"] != before.headers["etag"]
    assert after.headers["last-modified"] != before.headers["last-modified"]
    assert fetch(feed, {"If-None-Match": before.headers["etag"]}).status == 200
    assert fetch(feed, {"If-Modified-Since": before.headers["last-modified"]}).status == 200
    assert fetch(feed, {"If-None-Match": after.headers["etag"]}).status == 304
    items = [_strip_tracking(item.findtext("link", "")) for item in ET.fromstring(after.body).iter("item")]
    assert items[:2] == new[::-1]
    news, _ = links_in(akhbar.url("/sitemaps/news.xml"), fetch(akhbar.url("/sitemaps/news.xml")))
    assert set(new) <= news
    homepage, _ = links_in(akhbar.homepage, fetch(akhbar.homepage))
    assert set(new) <= homepage
    assert fetch(akhbar.url("/ar/section/politics")).body != section or fetch(akhbar.url("/ar/section/economy")).status == 200
    for url in new:
        assert fetch(url).status == 200
    found, _ = discover(akhbar.source_entry(), akhbar.base_url)
    assert akhbar.expected_article_urls() <= found


def test_request_log_records_hits_with_client_tag(universe: Universe) -> None:
    universe.clear_hits()
    url = universe.sites["nouvelles"].url("/robots.txt")
    t0 = time.time()
    fetch(url, {CRAWLER_HEADER: "crawler-7", "User-Agent": "RasdTest/1.0", "If-None-Match": '"x"'})
    fetch(url + "?a=1")
    hits = universe.hits_for("nouvelles")
    assert len(hits) == 2 and universe.hits_for("akhbar") == []
    tagged, plain = hits
    assert tagged.client == "crawler-7" and plain.client is None
    assert tagged.user_agent == "RasdTest/1.0" and tagged.if_none_match == '"x"' and tagged.if_modified_since is None
    assert tagged.status == 200 and tagged.path == "/robots.txt" and tagged.query == "" and plain.query == "a=1"
    assert tagged.host == urlsplit(url).netloc and tagged.url == url
    assert t0 <= tagged.started <= tagged.finished <= plain.started
    assert universe.hits == hits
    universe.clear_hits()
    assert universe.hits == []


def test_slow_site_does_not_slow_the_others(universe: Universe) -> None:
    slow = universe.sites["slow"]
    assert slow.latency_s == 1.5
    result: dict[str, object] = {}

    def slow_fetch() -> None:
        t = time.monotonic()
        result["feed"] = fetch(slow.url("/fa/rss"))
        result["elapsed"] = time.monotonic() - t

    thread = threading.Thread(target=slow_fetch)
    thread.start()
    time.sleep(0.1)
    t = time.monotonic()
    assert fetch(universe.sites["daily"].homepage).status == 200
    assert time.monotonic() - t < 0.5
    thread.join()
    assert result["elapsed"] >= 1.5  # type: ignore[operator]
    feed = result["feed"]
    assert isinstance(feed, Fetched) and feed.status == 200
    assert slow.language == "fa" and 'xml:lang' not in feed.text() and "<language>fa</language>" in feed.text()
    links, _ = links_in(slow.url("/fa/rss"), feed)
    assert slow.expected_article_urls() == links


def test_down_site_fails(universe: Universe) -> None:
    down = universe.sites["down"]
    assert fetch(down.homepage).status == 500
    assert fetch(down.url("/feed.xml")).status == 500
    assert down.expected_article_urls() == set()
    with pytest.raises(ValueError):
        universe.publish("down")


def test_sources_yaml(universe: Universe) -> None:
    data = yaml.safe_load(universe.sources_yaml())
    by_name = {s["name"]: s for s in data["sources"]}
    assert set(by_name) == set(universe.sites)
    assert set(by_name["akhbar"]) == {"name", "feeds", "sitemaps", "sections"}
    assert set(by_name["novosti"]) == {"name", "feeds", "sections"}
    assert set(by_name["daily"]) == {"name", "feeds", "sections"}
    assert by_name["slow"]["feeds"] == [universe.base_url("slow") + "/fa/rss"]
    assert set(by_name["down"]) == {"name", "homepage", "feeds"}


# -- generated benchmark universe ---------------------------------------------


def test_generated_universe_serves_every_article() -> None:
    with generated_universe(hosts=3, articles=300) as gen:
        assert [len(s.all_article_urls()) for s in gen.sites.values()] == [100, 100, 100]
        assert len({urlsplit(s.base_url).hostname for s in gen.sites.values()}) == 3
        all_urls = gen.all_article_urls()
        assert len(all_urls) == 300 and gen.expected_article_urls() == all_urls
        listed: set[str] = set()
        for site in gen.sites.values():
            entry = site.source_entry()
            assert set(entry) == {"name", "homepage", "sitemaps"}
            robots = fetch(site.url("/robots.txt")).text()
            assert f"Sitemap: {entry['sitemaps'][0]}" in robots and "Disallow" not in robots
            found, seen = discover({"sitemaps": entry["sitemaps"]}, site.base_url)
            assert site.all_article_urls() == found
            listed |= found
            feed, _ = links_in(site.url("/rss.xml"), fetch(site.url("/rss.xml")))
            assert len(feed) == 50 and feed <= found
        assert listed == all_urls
        with ThreadPoolExecutor(16) as pool:
            pages = list(pool.map(fetch, sorted(all_urls)))
        assert all(p.status == 200 and p.content_type.startswith("text/html") for p in pages)
        assert len({p.body for p in pages}) == 300


def test_generated_urlsets_are_paged() -> None:
    gen = generated_universe(hosts=2, articles=2_500)
    with gen:
        site = next(iter(gen.sites.values()))
        index, children = links_in(site.url("/sitemap.xml"), fetch(site.url("/sitemap.xml")))
        assert index == set() and len(children) == 2
        sizes = sorted(len(links_in(c, fetch(c))[0]) for c in children)
        assert sizes == [250, 1000]


def _near_duplicate_candidates(bodies: list[str]) -> float:
    """Per article, how many earlier ones share enough MinHash bands to be
    story-cluster candidates (ingest.clusters' own signature and bands)."""
    from collections import Counter, defaultdict

    from ingest.arabic import normalize_arabic
    from ingest.clusters import MIN_SHARED_BANDS, band_keys, signature

    seen: dict[str, list[int]] = defaultdict(list)
    total = 0
    for i, body in enumerate(bodies):
        sig = signature(normalize_arabic(body))
        assert sig is not None
        keys = set(band_keys(sig))
        shared = Counter(j for key in keys for j in seen[key])
        total += sum(1 for n in shared.values() if n >= MIN_SHARED_BANDS)
        for key in keys:
            seen[key].append(i)
    return total / len(bodies)


def test_generated_bodies_read_as_news_in_their_language_and_share_no_phrases() -> None:
    import random

    from ingest.language import detect_language

    for site in generated_universe(hosts=4, articles=400).sites.values():
        bodies = []
        for k in range(300):
            rng = random.Random(f"{site.name}:{k}")
            bodies.append("\n".join(site.body_paragraph(rng) for _ in range(rng.randint(3, 6))))
        assert {detect_language(b) for b in bodies} == {site.lang.code}, site.name
        # sentences, not word lists
        assert all(b.count(".") >= 6 and len(b.split()) > 60 for b in bodies)
        # Unrelated real stories are almost never cluster candidates of each
        # other; the fixture sites' phrase grammar makes several per article
        # in 300 (3 to 40 here), more as the corpus grows.
        assert _near_duplicate_candidates(bodies) < 0.5, site.name
        phrase_grammar = ["\n".join(site.lang.paragraph(random.Random(f"{site.name}:{k}:{p}")) for p in range(5))
                          for k in range(300)]
        assert _near_duplicate_candidates(phrase_grammar) > 2, site.name

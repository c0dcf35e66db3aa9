"""``rasd sources check``: what each source leads to, before a crawl.

For every source it reads the homepage (feeds it announces), robots.txt
(sitemaps it names, Crawl-delay, whether the homepage may be crawled) and
each feed and sitemap (how many article links they give), with the crawl's
User-Agent and a short timeout, one request at a time."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import urllib3
from protego import Protego

from crawlers.addresses import AddressPolicy, AddressRefused
from crawlers.discovery import DiscoveryError, feeds_in_html, parse_feed, parse_sitemap, sitemaps_in_robots
from crawlers.http_guard import guarded_pool_manager
from crawlers.sources import Source


@dataclass
class Fetched:
    status: int | None
    body: bytes = b""
    content_type: str | None = None
    error: str | None = None


Fetch = Callable[[str], Fetched]


@dataclass
class ListingCheck:
    kind: str
    url: str
    ok: bool
    detail: str
    discovered: bool = False


@dataclass
class SourceCheck:
    name: str
    listings: list[ListingCheck] = field(default_factory=list)
    crawl_delay_s: float | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and any(item.ok for item in self.listings)


def http_fetcher(user_agent: str, policy: AddressPolicy, timeout_s: float = 15.0, max_bytes: int = 8 * 1024 * 1024) -> Fetch:
    """fetch(url) that connects only where the crawler may (``policy``, redirects
    included); a refused address is an error named as the crawler's dead
    letters name it, ``address_refused``."""
    http = guarded_pool_manager(policy, headers={"User-Agent": user_agent}, timeout=urllib3.Timeout(total=timeout_s),
                                retries=urllib3.Retry(total=2, redirect=5))

    def fetch(url: str) -> Fetched:
        try:
            response = http.request("GET", url, preload_content=False)
            body = response.read(max_bytes, decode_content=True)
            response.release_conn()
        except AddressRefused as exc:
            return Fetched(None, error=f"address_refused: {exc}")
        except urllib3.exceptions.HTTPError as exc:
            return Fetched(None, error=str(exc))
        return Fetched(response.status, body, response.headers.get("Content-Type"))

    return fetch


def _count_feed(fetch: Fetch, url: str) -> tuple[bool, str]:
    got = fetch(url)
    if got.status != 200:
        return False, got.error or f"HTTP {got.status}"
    try:
        links = parse_feed(got.body, url, got.content_type)
    except DiscoveryError as exc:
        return False, str(exc)
    return True, f"{len(links)} article link(s)"


def _count_sitemap(fetch: Fetch, url: str, depth: int = 0) -> tuple[bool, str]:
    got = fetch(url)
    if got.status != 200:
        return False, got.error or f"HTTP {got.status}"
    try:
        content = parse_sitemap(got.body, url)
    except DiscoveryError as exc:
        return False, str(exc)
    if content.kind == "sitemapindex":
        return True, f"sitemap index of {len(content.sitemaps)} sitemap(s)"
    return True, f"{len(content.articles)} article link(s)"


def check_source(source: Source, fetch: Fetch, user_agent: str) -> SourceCheck:
    report = SourceCheck(source.name)
    feeds = list(source.feeds)
    sitemaps = [u for u in source.sitemaps if not u.rstrip("/").endswith("/robots.txt")]
    robots_urls = [u for u in source.sitemaps if u.rstrip("/").endswith("/robots.txt")] + source.robots_urls()
    if source.homepage:
        got = fetch(source.homepage)
        if got.status != 200:
            report.problems.append(f"homepage {source.homepage}: {got.error or f'HTTP {got.status}'}")
            report.listings.append(ListingCheck("homepage", source.homepage, False, got.error or f"HTTP {got.status}"))
        else:
            found = [u for u in feeds_in_html(got.body, source.homepage) if u not in feeds]
            report.listings.append(ListingCheck("homepage", source.homepage, True, f"announces {len(found)} feed(s)"))
            for url in found:
                feeds.append(url)
    discovered_feeds = set(feeds) - set(source.feeds)
    for robots in dict.fromkeys(robots_urls):
        got = fetch(robots)
        if got.status != 200:
            report.listings.append(ListingCheck("robots", robots, got.status == 404, got.error or f"HTTP {got.status}"))
            continue
        parser = Protego.parse(got.body.decode("utf-8", "replace"))
        delay = parser.crawl_delay(user_agent)
        if delay:
            report.crawl_delay_s = max(report.crawl_delay_s or 0.0, float(delay))
        named = [u for u in sitemaps_in_robots(got.body, robots) if u not in sitemaps]
        report.listings.append(ListingCheck("robots", robots, True, f"names {len(named)} sitemap(s)"))
        sitemaps.extend(named)
        if source.homepage and not parser.can_fetch(source.homepage, user_agent):
            report.problems.append(f"robots.txt forbids the homepage {source.homepage} to {user_agent}")
    discovered_sitemaps = set(sitemaps) - set(source.sitemaps)
    for url in feeds:
        ok, detail = _count_feed(fetch, url)
        report.listings.append(ListingCheck("feed", url, ok, detail, discovered=url in discovered_feeds))
    for url in sitemaps:
        ok, detail = _count_sitemap(fetch, url)
        report.listings.append(ListingCheck("sitemap", url, ok, detail, discovered=url in discovered_sitemaps))
    for url in source.sections:
        got = fetch(url)
        ok = got.status == 200
        report.listings.append(ListingCheck("section", url, ok, "reachable" if ok else got.error or f"HTTP {got.status}"))
    for item in report.listings:
        if not item.ok and item.kind != "robots":
            report.problems.append(f"{item.kind} {item.url}: {item.detail}")
    return report


def render(reports: list[SourceCheck]) -> str:
    lines = []
    for report in reports:
        lines.append(f"{report.name}: {'ok' if report.ok else 'PROBLEMS'}" + (f" (Crawl-delay {report.crawl_delay_s:g} s)" if report.crawl_delay_s else ""))
        for item in report.listings:
            mark = "+" if item.ok else "!"
            how = " (discovered)" if item.discovered else ""
            lines.append(f"  {mark} {item.kind:<8} {item.url}{how}: {item.detail}")
        for problem in report.problems:
            lines.append(f"  problem: {problem}")
    return "\n".join(lines)

"""The continuous crawl: a spider that never closes by itself.

Its work comes from the frontier (``crawlers.frontier``): the URL status
index says what is due for the hosts this process owns, listings found
links are published to the frontier topic (to their host's owner), and
every fetch ends with a status update. The parsing is the one-pass
``NewsSpider``'s; what differs is what a found link leads to.
"""
from __future__ import annotations

import os
import socket
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import structlog
from scrapy import Request, signals
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.defer import deferred_from_coro
from twisted.internet import task
from twisted.python.failure import Failure

from ingest.engines.detect import open_configured_client
from ingest.identity import canonical_url
from ingest.models import DeadLetter, FrontierLink

from crawlers.discovery import ArticleLink, Hints, is_robots_url
from crawlers.frontier.ownership import host_partition
from crawlers.frontier.status import (
    UrlStatus,
    after_article_fetch,
    after_failure,
    after_listing_poll,
    content_hash,
    retired,
)
from crawlers.frontier.store import StatusStore
from crawlers.frontier.worker import FrontierWorker
from crawlers.middlewares.politeness import host_of
from crawlers.middlewares.redirects import AlreadyHave
from crawlers.politeness import Dropped
from crawlers.pipelines import Tracked
from crawlers.records import Via
from crawlers.settings import download_slots
from crawlers.sources import Source, SourcesWatcher, listing_urls
from crawlers.spiders.news import FOUND_IN_SITEMAP_META, LINKS_DROPPED_META, ListingKind, NewsSpider, Record

log = structlog.get_logger(__name__)

STATUS_META = "rasd_status"
FEED_EVERY_S = 0.1
# The frontier loop waits at most REVOKE_GRACE_S + MAX_QUIET_WAIT_S in a
# rebalance; longer than that without a round means it is stuck.
FRONTIER_STALL_S = 120.0
CLOSE_REASON_FRONTIER = "frontier_failed"
# article failures that another try would not change
PERMANENT_REASONS = frozenset({"not_html", "too_large", "robots", "address_refused"})
PERMANENT_STATUSES = frozenset({400, 401, 403, 404, 405, 410, 451})


def _article_id(url: str) -> str:
    try:
        return canonical_url(url)
    except ValueError:
        return url


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


class _AfterAll:
    """Runs ``action`` once every Kafka send in ``futures`` is acknowledged
    (never, if one fails: the listing is then polled again as if not read)."""

    def __init__(self, futures: Sequence[Any], action: Any) -> None:
        self._left = len(futures)
        self._lock = threading.Lock()
        self._action = action
        if not futures:
            action()
        for future in futures:
            future.add_callback(self._one_done)

    def _one_done(self, _metadata: Any) -> None:
        with self._lock:
            self._left -= 1
            done = self._left == 0
        if done:
            self._action()


class MonitorSpider(NewsSpider):
    name = "monitor"
    worker: FrontierWorker
    watcher: SourcesWatcher | None

    def __init__(self, sources: list[Source] | str | None = None, sources_file: str | None = None, **kwargs: Any) -> None:
        super().__init__(sources=sources, **kwargs)
        self.sources_file = sources_file
        self._loops: list[task.LoopingCall] = []
        self._closing = False

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> MonitorSpider:
        spider: MonitorSpider = super().from_crawler(crawler, *args, **kwargs)  # type: ignore[assignment]
        path = spider.sources_file or spider.rasd.sources_file
        spider.watcher = SourcesWatcher(path) if path else None
        if spider.watcher is not None:
            spider._use_sources(spider.watcher.sources)
        else:
            spider._use_sources(spider.sources)
        store = StatusStore(open_configured_client(spider.rasd), spider.rasd.crawl_status_index)
        spider.worker = FrontierWorker(
            spider.rasd,
            store,
            listings=lambda: (spider._sources_version, spider._listing_links),
            quiet_in=spider._quiet_in,
            client_id=f"rasd-crawler-{socket.gethostname()}-{os.getpid()}",
        )
        # KnownRedirectTargetMiddleware asks it before following a redirect
        spider.known_articles = spider.worker
        crawler.signals.connect(spider._opened, signal=signals.spider_opened)
        crawler.signals.connect(spider._idle, signal=signals.spider_idle)
        crawler.signals.connect(spider._closed, signal=signals.spider_closed)
        return spider

    # -- sources -----------------------------------------------------------------

    def _use_sources(self, sources: list[Source]) -> None:
        self.sources = list(sources)
        self.sources_by_name = {s.name: s for s in self.sources}
        self._configured = {(s.name, kind, url) for s in self.sources for kind, url in listing_urls(s)}
        self._listing_links: list[FrontierLink] = [
            FrontierLink(url=url, kind=kind, source=s.name, host=host_of(url))  # type: ignore[arg-type]
            for s in self.sources
            for kind, url in listing_urls(s)
        ]
        # then a new version: the frontier thread registers the listings again
        self._sources_version = getattr(self, "_sources_version", 0) + 1
        politeness = getattr(self.crawler, "politeness", None) if hasattr(self, "crawler") else None
        if politeness is not None:
            politeness.host_policies = download_slots(self.sources)

    def _reload_sources(self) -> None:
        assert self.watcher is not None
        if self.watcher.poll():
            self._use_sources(self.watcher.sources)
            log.info("sources_reloaded", sources=[s.name for s in self.sources])
        elif self.watcher.last_error:
            log.error("sources_file_invalid_keeping_previous", error=self.watcher.last_error)
            self.watcher.last_error = None

    # -- lifecycle -----------------------------------------------------------------

    def _opened(self) -> None:
        politeness = getattr(self.crawler, "politeness", None)
        if politeness is not None:
            politeness.ownership = self.worker.ownership
            # robots.txt requests carry no source: always wanted
            politeness.wanted = lambda request: request.meta.get("rasd_source", "") in self.sources_by_name or (
                "rasd_source" not in request.meta
            )
            politeness.host_policies = download_slots(self.sources)
        try:
            self.worker.start()
        except Exception as exc:  # noqa: BLE001 - engine or Kafka unreachable: close with the reason
            log.error("frontier_could_not_start", error=str(exc), status_index=self.rasd.crawl_status_index)
            self.worker.error = exc
        feed = task.LoopingCall(self._feed)
        feed.start(FEED_EVERY_S, now=False)
        self._loops.append(feed)
        if self.watcher is not None:
            reload = task.LoopingCall(self._reload_sources)
            reload.start(self.rasd.crawl_sources_reload_s, now=False)
            self._loops.append(reload)
        log.info("continuous_crawl_started", sources=len(self.sources), group=self.rasd.crawler_group_id)

    def _idle(self) -> None:
        if self.worker.error is None:
            raise DontCloseSpider

    def _closed(self, reason: str) -> None:
        for loop in self._loops:
            if loop.running:
                loop.stop()
        self.worker.stop()
        for key, value in self.worker.stats.items():
            self.crawler.stats.set_value(f"rasd/frontier/{key}", value)
        log.info("continuous_crawl_stopped", reason=reason, **self.worker.stats)

    def _quiet_in(self, partitions: set[int]) -> float:
        politeness = getattr(self.crawler, "politeness", None)
        return politeness.quiet_in(partitions) if politeness is not None else 0.0

    async def start(self) -> Any:
        # the work comes from the frontier, not from start requests
        return
        yield  # pragma: no cover - makes this an async generator

    def _feed(self) -> None:
        if self.worker.error is None and self.worker.stalled_for > FRONTIER_STALL_S:
            # better a clean exit and a restart (compose, systemd) than a
            # crawler that looks alive and fetches nothing
            self.worker.error = TimeoutError(f"frontier loop stuck for {self.worker.stalled_for:.0f} s")
        if self.worker.error is not None:
            if self.crawler.crawling and not self._closing:
                self._closing = True
                log.error("frontier_stopped_closing", error=repr(self.worker.error))
                deferred_from_coro(self.crawler.engine.close_spider_async(reason=CLOSE_REASON_FRONTIER))
            return
        for rec in self.worker.take_ready():
            request = self._request_for(rec)
            if request is not None:
                self.crawler.engine.crawl(request)

    # -- requests ------------------------------------------------------------------

    def _request_for(self, rec: UrlStatus) -> Request | None:
        source = self.sources_by_name.get(rec.source)
        if source is None:
            self.worker.update(retired(rec, f"source {rec.source!r} was removed from the sources file"))
            return None
        if rec.is_listing and rec.discovered_from is None and (rec.source, rec.kind, rec.url) not in self._configured:
            self.worker.update(retired(rec, "no longer in the sources file"))
            return None
        headers: dict[str, str] = {}
        if rec.etag:
            headers["If-None-Match"] = rec.etag
        if rec.last_modified:
            headers["If-Modified-Since"] = rec.last_modified
        meta: dict[str, Any] = {STATUS_META: rec, "handle_httpstatus_list": [304]}
        if rec.is_listing:
            # A failing listing is polled again on its backoff schedule, which
            # lives in the shared status index and so survives a handover of
            # the host; Scrapy's immediate retries would add requests that
            # follow only this process's memory of the host's errors.
            meta["dont_retry"] = True
            if rec.kind == "sitemap" and rec.discovered_from and not is_robots_url(rec.discovered_from):
                meta[FOUND_IN_SITEMAP_META] = True
            request = self.listing_request(source, rec.kind, rec.fetch_url, **meta)
        else:
            link = ArticleLink(rec.fetch_url, Hints(title=rec.hint_title, published_at=rec.hint_published_at))
            request = self.article_request(source, link, rec.via)
            request.meta.update(meta)
        return request.replace(headers=headers, dont_filter=True) if headers else request.replace(dont_filter=True)

    def listing_request(self, source: Source, kind: ListingKind, url: str, **meta: Any) -> Request:
        request = super().listing_request(source, kind, url, **meta)
        return request.replace(callback=self.parse_listing, dont_filter=True)

    async def parse_listing(self, response: Response) -> AsyncIterator[Request | Record]:
        if response.status == 304:
            self.crawler.stats.inc_value("rasd/listings_not_modified")
            for record in self.listing_parsed(response, 0):
                yield record
            return
        parse = {
            "feed": self.parse_feed,
            "sitemap": self.parse_sitemap,
            "robots": self.parse_robots,
            "section": self.parse_section,
            "homepage": self.parse_homepage,
        }[response.meta["listing"]]
        result = parse(response)
        # feeds and sitemaps are parsed off Scrapy's thread (async), the rest not
        if isinstance(result, AsyncIterator):
            async for item in result:
                yield item
        else:
            for item in result:
                yield item

    # -- found links go to their host's owner --------------------------------------

    def _publish(self, links: list[FrontierLink]) -> list[Any]:
        self.crawler.stats.inc_value("rasd/frontier/links_published", len(links))
        return self.worker.publish(links)

    def on_articles(self, source: Source, links: list[ArticleLink], via: Via, response: Response) -> Iterator[Request | Record]:
        found = [
            FrontierLink(
                url=_article_id(link.url),
                kind="article",
                source=source.name,
                host=host_of(link.url),
                discovered_via=via,
                discovered_from=response.url,
                hint_title=link.hints.title,
                hint_published_at=link.hints.published_at,
            )
            for link in links
            if host_of(link.url)
        ]
        response.meta.setdefault("rasd_sent", []).extend(self._publish(found))
        return iter(())

    def on_listings(self, source: Source, kind: ListingKind, urls: list[str], response: Response) -> Iterator[Request | Record]:
        found = [
            FrontierLink(url=url, kind=kind, source=source.name, host=host_of(url), discovered_from=response.url)  # type: ignore[arg-type]
            for url in urls
            if host_of(url)
        ]
        response.meta.setdefault("rasd_sent", []).extend(self._publish(found))
        return iter(())

    def listing_parsed(self, response: Response, links: int) -> Iterator[Record]:
        rec: UrlStatus | None = response.meta.get(STATUS_META)
        if rec is None:
            return iter(())
        source = self.sources_by_name.get(rec.source)
        updated = after_listing_poll(
            rec,
            self.rasd,
            http_status=response.status,
            body_hash=None if response.status == 304 else content_hash(response.body),
            links=links,
            links_dropped=response.meta.get(LINKS_DROPPED_META, 0),
            etag=_header(response, b"ETag"),
            last_modified=_header(response, b"Last-Modified"),
            source_interval_s=source.poll_interval_s if source else None,
        )
        # recorded as read only once every link it gave is safely on Kafka
        _AfterAll(response.meta.get("rasd_sent", []), lambda: self.worker.update(updated))
        return iter(())

    def _listing_unreadable(self, response: Response, exc: Exception) -> DeadLetter:
        letter = super()._listing_unreadable(response, exc)
        self._failed(response.meta.get(STATUS_META), letter.detail, response.status, permanent=False)
        return letter

    # -- articles --------------------------------------------------------------------

    def parse_article(self, response: Response) -> Iterator[Record]:
        rec: UrlStatus | None = response.meta.get(STATUS_META)
        if rec is None:
            yield from super().parse_article(response)
            return
        if response.status == 304:
            self.crawler.stats.inc_value("rasd/articles_not_modified")
            self.worker.update(self._fetched(rec, response))
            return
        for record in super().parse_article(response):
            if isinstance(record, DeadLetter):
                updated = after_failure(
                    rec, self.rasd, error=record.detail, http_status=response.status, source_interval_s=None, permanent=True
                )
            else:
                updated = self._fetched(rec, response)
                self._also_fetched(rec, response)
            yield Tracked(record, lambda updated=updated: self.worker.update(updated))  # type: ignore[misc]

    def _fetched(self, rec: UrlStatus, response: Response) -> UrlStatus:
        return after_article_fetch(
            rec,
            self.rasd,
            http_status=response.status,
            etag=_header(response, b"ETag"),
            last_modified=_header(response, b"Last-Modified"),
        )

    def _also_fetched(self, rec: UrlStatus, response: Response) -> None:
        """A redirect led to another article URL: record that one as fetched
        too, so a listing naming it directly does not lead to a second fetch."""
        final = _article_id(response.url)
        host = host_of(response.url)
        # same host: this process owned it when the request left (ownership
        # may be moving right now; the write still lands before the handover)
        if final == rec.url or host != rec.host:
            return
        twin = rec.model_copy(update={"url": final, "fetch_url": response.url, "host": host,
                                      "partition": host_partition(host, self.rasd.frontier_partitions)})
        self.worker.update(self._fetched(twin, response))

    def article_failed(self, failure: Failure) -> Iterator[DeadLetter]:
        request: Request = failure.request  # type: ignore[attr-defined]
        rec: UrlStatus | None = request.meta.get(STATUS_META)
        if failure.check(AlreadyHave) and rec is not None:
            # the link is an alias of an article the crawl has: done with it
            self.worker.update(after_article_fetch(rec, self.rasd, http_status=301, etag=None, last_modified=None))
            return
        if failure.check(Dropped):
            if rec is not None:
                self.worker.release(rec.id)
            return
        records = list(super().article_failed(failure))
        if rec is not None:
            status = failure.value.response.status if failure.check(HttpError) else None
            if records:
                letter = records[0]
                permanent = letter.reason in PERMANENT_REASONS or status in PERMANENT_STATUSES
                updated = after_failure(
                    rec, self.rasd, error=letter.detail, http_status=status, source_interval_s=None, permanent=permanent
                )
                yield Tracked(letter, lambda: self.worker.update(updated))  # type: ignore[misc]
                return
            # refused by robots.txt: policy, not a failure, and final
            self.worker.update(
                after_failure(rec, self.rasd, error="forbidden by robots.txt", http_status=None, source_interval_s=None, permanent=True)
            )
            return
        yield from records

    def listing_failed(self, failure: Failure) -> Iterator[DeadLetter]:
        request: Request = failure.request  # type: ignore[attr-defined]
        rec: UrlStatus | None = request.meta.get(STATUS_META)
        if failure.check(Dropped):
            if rec is not None:
                self.worker.release(rec.id)
            return
        letters = list(super().listing_failed(failure))
        status = failure.value.response.status if failure.check(HttpError) else None
        detail = letters[0].detail if letters else "forbidden by robots.txt"
        self._failed(rec, detail, status, permanent=not letters or letters[0].reason == "address_refused")
        yield from letters

    def _failed(self, rec: UrlStatus | None, detail: str, status: int | None, *, permanent: bool) -> None:
        if rec is None:
            return
        source = self.sources_by_name.get(rec.source)
        self.worker.update(
            after_failure(
                rec,
                self.rasd,
                error=detail,
                http_status=status,
                source_interval_s=source.poll_interval_s if source else None,
                permanent=permanent,
            )
        )

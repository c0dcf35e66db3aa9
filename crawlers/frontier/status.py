"""One record per URL in the URL status index, and the pure rules that
decide when a URL is fetched next.

Articles are fetched once (and optionally re-fetched a few times in their
first days); listings (feeds, sitemaps, sections, homepages, robots.txt) are
polled forever on an interval that adapts to how often they change and backs
off while they fail."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ingest.identity import document_id
from ingest.models import FrontierLink, LinkKind, utcnow
from ingest.settings import Settings

from crawlers.frontier.ownership import host_partition

Status = Literal["discovered", "fetched", "failed", "retired"]
POLL_HISTORY = 10


class Poll(BaseModel):
    """One fetch of a listing: what the per-source poll history shows."""

    at: datetime
    http_status: int | None = None
    changed: bool = False
    links: int = 0
    # links the listing named beyond crawl_max_links_per_listing (not followed)
    links_dropped: int = 0
    error: str | None = None


class UrlStatus(BaseModel):
    model_config = ConfigDict(extra="ignore")

    url: str
    fetch_url: str = Field(description="the URL as discovered (what is requested)")
    kind: LinkKind
    source: str
    host: str
    partition: int
    status: Status = "discovered"
    via: Literal["feed", "sitemap", "section", "seed"] = "seed"
    discovered_from: str | None = None
    hint_title: str | None = None
    hint_published_at: datetime | None = None
    first_seen_at: datetime = Field(default_factory=utcnow)
    next_fetch_at: datetime | None = None
    fetch_count: int = 0
    last_fetched_at: datetime | None = None
    last_http_status: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None
    interval_s: float | None = None
    consecutive_errors: int = 0
    last_error: str | None = None
    polls: list[Poll] = Field(default_factory=list)

    @property
    def id(self) -> str:
        return status_id(self.kind, self.url)

    @property
    def is_listing(self) -> bool:
        return self.kind != "article"

    def doc(self) -> dict[str, object]:
        return self.model_dump(mode="json")


def status_id(kind: str, url: str) -> str:
    """Articles share their id with the article document (hash of the
    canonical URL); a listing's id hashes its exact URL."""
    if kind == "article":
        return document_id(url)
    return "L" + hashlib.sha256(url.encode("utf-8")).hexdigest()[:40]


def from_link(link: FrontierLink, partitions: int, now: datetime | None = None) -> UrlStatus:
    now = now or utcnow()
    return UrlStatus(
        url=link.url,
        fetch_url=link.url,
        kind=link.kind,
        source=link.source,
        host=link.host,
        partition=host_partition(link.host, partitions),
        via=link.discovered_via,
        discovered_from=link.discovered_from,
        hint_title=link.hint_title,
        hint_published_at=link.hint_published_at,
        first_seen_at=now,
        next_fetch_at=now,
    )


def content_hash(body: bytes) -> str:
    return hashlib.sha1(body).hexdigest()


def base_interval(settings: Settings, source_interval_s: float | None) -> float:
    interval = source_interval_s if source_interval_s is not None else settings.crawl_poll_interval_s
    return min(settings.crawl_poll_max_s, max(settings.crawl_poll_min_s, interval))


def _remember(rec: UrlStatus, poll: Poll) -> list[Poll]:
    return [*rec.polls, poll][-POLL_HISTORY:]


def after_listing_poll(
    rec: UrlStatus,
    settings: Settings,
    *,
    http_status: int,
    body_hash: str | None,
    links: int,
    etag: str | None,
    last_modified: str | None,
    source_interval_s: float | None,
    links_dropped: int = 0,
    now: datetime | None = None,
) -> UrlStatus:
    """A listing answered (200 or 304). A changed listing is polled sooner
    (half the interval), an unchanged one later (1.5x), within the bounds."""
    now = now or utcnow()
    previous = rec.interval_s or base_interval(settings, source_interval_s)
    changed = http_status != 304 and body_hash != rec.content_hash
    interval = previous / 2 if changed else previous * 1.5
    interval = min(settings.crawl_poll_max_s, max(settings.crawl_poll_min_s, interval))
    return rec.model_copy(
        update={
            "status": "fetched",
            "fetch_count": rec.fetch_count + 1,
            "last_fetched_at": now,
            "last_http_status": http_status,
            "etag": etag or rec.etag,
            "last_modified": last_modified or rec.last_modified,
            "content_hash": body_hash if body_hash is not None else rec.content_hash,
            "interval_s": interval,
            "next_fetch_at": now + timedelta(seconds=interval),
            "consecutive_errors": 0,
            "last_error": None,
            "polls": _remember(rec, Poll(at=now, http_status=http_status, changed=changed, links=links, links_dropped=links_dropped)),
        }
    )


def after_failure(
    rec: UrlStatus,
    settings: Settings,
    *,
    error: str,
    http_status: int | None,
    source_interval_s: float | None,
    permanent: bool,
    now: datetime | None = None,
) -> UrlStatus:
    """A fetch failed. Listings back off exponentially from their interval
    up to ``crawl_error_backoff_max_s`` (at once when ``permanent``) and
    keep being polled; an article that failed for good (404, not HTML, too
    large, a refused address) is not fetched again, one that failed for a
    passing reason is tried again with backoff."""
    now = now or utcnow()
    errors = rec.consecutive_errors + 1
    update: dict[str, object] = {
        "status": "failed",
        "fetch_count": rec.fetch_count + 1,
        "last_fetched_at": now,
        "last_http_status": http_status,
        "consecutive_errors": errors,
        "last_error": error[:500],
    }
    if rec.is_listing:
        interval = rec.interval_s or base_interval(settings, source_interval_s)
        wait = min(settings.crawl_error_backoff_max_s, interval * 2 ** (errors - 1))
        if permanent:
            # another try soon would end the same way (robots.txt, a refused
            # address); still polled, as the site or the settings may change
            wait = settings.crawl_error_backoff_max_s
        update["next_fetch_at"] = now + timedelta(seconds=wait)
        update["polls"] = _remember(rec, Poll(at=now, http_status=http_status, error=error[:200]))
    elif permanent or errors >= 4:
        update["next_fetch_at"] = None
    else:
        wait = min(settings.crawl_error_backoff_max_s, 60.0 * 4 ** (errors - 1))
        update["next_fetch_at"] = now + timedelta(seconds=wait)
    return rec.model_copy(update=update)


def after_article_fetch(
    rec: UrlStatus,
    settings: Settings,
    *,
    http_status: int,
    etag: str | None,
    last_modified: str | None,
    now: datetime | None = None,
) -> UrlStatus:
    """An article was fetched (or answered 304 to a re-fetch). The next
    fetch is the next planned re-fetch counted from the first fetch, if any."""
    now = now or utcnow()
    fetches = rec.fetch_count + 1
    # the plan counts from the first successful fetch, whatever failed before
    anchor = rec.polls[0].at if rec.polls else now
    steps = (anchor + timedelta(seconds=s) for s in sorted(settings.crawl_refetch_after_s))
    next_at = next((t for t in steps if t > now), None)
    return rec.model_copy(
        update={
            "status": "fetched",
            "fetch_count": fetches,
            "last_fetched_at": now,
            "last_http_status": http_status,
            "etag": etag or rec.etag,
            "last_modified": last_modified or rec.last_modified,
            "next_fetch_at": next_at,
            "consecutive_errors": 0,
            "last_error": None,
            # the first fetch anchors the re-fetch plan
            "polls": rec.polls or [Poll(at=now, http_status=http_status)],
        }
    )


def retired(rec: UrlStatus, reason: str, now: datetime | None = None) -> UrlStatus:
    """A listing no longer in the sources file: kept, never polled again."""
    return rec.model_copy(update={"status": "retired", "next_fetch_at": None, "last_error": reason})

"""Page -> article: decoding, trafilatura extraction, metadata and identity.

Pure functions of a ``FetchedPage``: the ingest worker runs them on pages from
Kafka, and re-running them on stored pages later gives the same documents."""
from __future__ import annotations

from typing import Literal

import structlog
import trafilatura

from ingest.content_types import is_html_type
from ingest.decoding import decode_page
from ingest.furniture import headline_of, strip_furniture
from ingest.html_prep import parse, prepare, restore_zwnj
from ingest.identity import canonical_url, document_id, domain_of
from ingest.language import detect_language
from ingest.models import Article, DeadLetterReason, FetchedPage, utcnow
from ingest.page_meta import PageMeta, page_metadata
from ingest.published import DateOrigin, page_dates

log = structlog.get_logger(__name__)

# htmldate returns days only by default; monitoring needs the time of day too.
_DATE_PARAMS = {"outputformat": "%Y-%m-%dT%H:%M:%S%z", "original_date": True, "extensive_search": False}


class ExtractionError(Exception):
    """A page that cannot become an article; ``reason`` is the dead-letter reason."""

    def __init__(self, reason: DeadLetterReason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason: DeadLetterReason = reason
        self.detail = detail


def is_html(content_type: str | None) -> bool:
    # A missing header is common on small sites; the body sniffing in
    # decode_html copes, so only an explicit non-HTML type is refused.
    return is_html_type(content_type) is not False


def decode_html(body: bytes, content_type: str | None) -> str:
    """Bytes -> text; a wrong charset declaration never garbles it (ingest.decoding)."""
    return decode_page(body, content_type).text


# Article v1 records only whether the date came from the page or the feed.
_DATE_SOURCE: dict[DateOrigin, Literal["page", "feed"]] = {
    "jsonld": "page", "meta": "page", "time": "page", "text": "page", "htmldate": "page", "url": "page", "feed": "feed",
}


def _same_site(a: str, b: str) -> bool:
    return domain_of(a) == domain_of(b)


def extract_article(page: FetchedPage, *, min_chars: int) -> Article:
    """Extract the article in ``page`` or raise ExtractionError."""
    if not is_html(page.content_type):
        raise ExtractionError("not_html", f"content-type {page.content_type!r}")
    try:
        decoded = decode_page(page.body(), page.content_type)
    except Exception as exc:  # zstd or codec failure: the message is unusable
        raise ExtractionError("undecodable", repr(exc)) from exc
    html = decoded.text

    # Parsed once, prepared, then read by trafilatura (which works on a copy)
    # and by the date reader (the preparation changes nothing dates come from).
    tree = parse(html)
    if tree is not None:
        prepare(tree)
    doc = trafilatura.bare_extraction(
        tree if tree is not None else html,
        url=page.final_url,
        include_comments=False,
        # trafilatura's own fallback (readability, jusText) costs a fifth of
        # the extraction time; the page preparation and the furniture rules
        # do better on the evaluation set (rasd bench-extract).
        fast=True,
        # read below from the same tree, without trafilatura's slow searches
        with_metadata=False,
    )
    meta = page_metadata(tree, page.final_url) if tree is not None else PageMeta(None, None, None, None, None)
    text = restore_zwnj(doc.text or "") if doc is not None else ""
    raw_title = restore_zwnj(meta.title) if meta.title else page.hint_title
    # A <title> often carries the site's name too: the part the page repeats
    # as its headline is the title. The headline and furniture lines leave the body.
    title = headline_of(raw_title, text) or raw_title
    stripped = strip_furniture(text, title)
    body = stripped.text
    if len(body) < min_chars:
        raise ExtractionError("empty_extraction", f"{len(body)} characters of text (minimum {min_chars})")

    canonical = meta.url if meta.url and _same_site(meta.url, page.final_url) else page.final_url
    dates = page_dates(
        tree if tree is not None else html, page.final_url, feed_date=page.hint_published_at, site_tz=None,
        fetched_at=page.fetched_at,
    )
    published = dates.published.value if dates.published else None
    date_source = _DATE_SOURCE[dates.published.origin] if dates.published else "none"
    log.debug(
        "extraction origins", url=page.final_url, charset=decoded.encoding, charset_origin=decoded.origin,
        undecodable_bytes=decoded.undecodable, published_origin=dates.published.origin if dates.published else None,
        furniture_removed=[rule for rule, _ in stripped.removed],
        modified=dates.modified.value.isoformat() if dates.modified else None,
    )

    return Article(
        id=document_id(canonical),
        url=canonical_url(canonical),
        fetched_url=page.final_url,
        source=page.source,
        domain=domain_of(canonical),
        title=title,
        body=body,
        language=detect_language(body),
        published_at=published,
        date_source=date_source,
        author=restore_zwnj(meta.author) if meta.author else None,
        description=restore_zwnj(meta.description) if meta.description else None,
        fetched_at=page.fetched_at,
        extracted_at=utcnow(),
    )

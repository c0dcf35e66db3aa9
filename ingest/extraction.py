"""Page -> article: decoding, trafilatura extraction, metadata and identity.

Pure functions of a ``FetchedPage``: the ingest worker runs them on pages from
Kafka, and re-running them on stored pages later gives the same documents."""
from __future__ import annotations

import py3langid
import trafilatura
from w3lib.encoding import html_to_unicode

from ingest.content_types import is_html_type
from ingest.dates import parse_iso_datetime
from ingest.identity import canonical_url, document_id, domain_of
from ingest.models import Article, DeadLetterReason, FetchedPage, utcnow

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
    """Bytes -> text the way browsers do (HTTP charset, then BOM, then
    <meta charset>, then a default), via w3lib, which Scrapy itself uses."""
    _, text = html_to_unicode(content_type, body)
    return text


def detect_language(text: str) -> str | None:
    if not text.strip():
        return None
    lang, _score = py3langid.classify(text[:5000])
    return lang


def _same_site(a: str, b: str) -> bool:
    return domain_of(a) == domain_of(b)


def _strip_title_line(text: str, title: str | None) -> str:
    # trafilatura keeps the <h1> inside the article body; the title has its own field.
    lines = text.split("\n")
    if title and lines and lines[0].strip() == title.strip():
        lines = lines[1:]
    return "\n".join(lines).strip()


def extract_article(page: FetchedPage, *, min_chars: int) -> Article:
    """Extract the article in ``page`` or raise ExtractionError."""
    if not is_html(page.content_type):
        raise ExtractionError("not_html", f"content-type {page.content_type!r}")
    try:
        html = decode_html(page.body(), page.content_type)
    except Exception as exc:  # zstd or codec failure: the message is unusable
        raise ExtractionError("undecodable", repr(exc)) from exc

    doc = trafilatura.bare_extraction(
        html,
        url=page.final_url,
        include_comments=False,
        with_metadata=True,
        date_extraction_params=_DATE_PARAMS,
    )
    text = (doc.text or "") if doc is not None else ""
    title = (doc.title or page.hint_title) if doc is not None else page.hint_title
    body = _strip_title_line(text, title)
    if len(body) < min_chars:
        raise ExtractionError("empty_extraction", f"{len(body)} characters of text (minimum {min_chars})")

    canonical = doc.url if doc is not None and doc.url and _same_site(doc.url, page.final_url) else page.final_url
    published = parse_iso_datetime(doc.date if doc is not None else None)
    date_source = "page"
    if published is None:
        published, date_source = page.hint_published_at, "feed" if page.hint_published_at else "none"

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
        author=doc.author if doc is not None else None,
        description=doc.description if doc is not None else None,
        fetched_at=page.fetched_at,
        extracted_at=utcnow(),
    )

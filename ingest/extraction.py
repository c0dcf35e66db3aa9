"""Page -> article: decoding, trafilatura extraction, metadata and identity.

Pure functions of a ``FetchedPage``: the ingest worker runs them on pages from
Kafka, and re-running them on stored pages later gives the same documents."""
from __future__ import annotations


from copy import copy

import structlog
import trafilatura
from lxml.html import HtmlElement
from trafilatura.settings import Extractor

from ingest.arabic import normalize_arabic
from ingest.classify import binary_kind, classify_page
from ingest.clusters import content_hash
from ingest.content_types import is_html_type
from ingest.decoding import decode_page
from ingest.furniture import headline_of, strip_furniture
from ingest.html_prep import MAX_TAG_ATTRIBUTES, crowded_tag, parse_page, prepare, restore_zwnj, take_kickers
from ingest.identity import canonical_url, document_id, domain_of
from ingest.language import detect_language
from ingest.models import Article, BodyTooLarge, Classification, DeadLetterReason, FetchedPage, utcnow
from ingest.page_meta import PageMeta, page_metadata
from ingest.published import page_dates
from ingest.source_profiles import ExtractionRules, SourceProfile
from ingest.trafilatura_tuning import install as install_trafilatura_tuning

log = structlog.get_logger(__name__)

# seven of trafilatura's selectors, at a fraction of their cost
install_trafilatura_tuning()


class ExtractionError(Exception):
    """A page that cannot become an article; ``reason`` is the dead-letter
    reason, ``classification`` the class of page it is."""

    def __init__(self, reason: DeadLetterReason, detail: str, *, kind: str | None = None) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason: DeadLetterReason = reason
        self.detail = detail
        # what the page is, when known: "tag_page", "js_shell", "binary", ...
        self.kind = kind

    @property
    def classification(self) -> Classification:
        return classification_of(self.reason)


# Every dead-letter reason of the ingest stage belongs to one class of page.
_CLASS_OF_REASON: dict[str, Classification] = {
    "not_article": "not_article",
    "not_html": "not_article",
    "empty_extraction": "empty",
    "too_large": "too_large",
}


_REASON_OF_CLASS: dict[Classification, DeadLetterReason] = {
    "not_article": "not_article",
    "empty": "empty_extraction",
    "too_large": "too_large",
    "failed": "extraction_failed",
}


def classification_of(reason: str) -> Classification:
    """The class of a page refused for ``reason`` (http errors, undecodable
    bodies and crashes are ``failed``)."""
    return _CLASS_OF_REASON.get(reason, "failed")


def is_html(content_type: str | None) -> bool:
    # A missing header is common on small sites; the body sniffing in
    # decode_html copes, so only an explicit non-HTML type is refused.
    return is_html_type(content_type) is not False


def decode_html(body: bytes, content_type: str | None) -> str:
    """Bytes -> text; a wrong charset declaration never garbles it (ingest.decoding)."""
    return decode_page(body, content_type).text


def _same_site(a: str, b: str) -> bool:
    return domain_of(a) == domain_of(b)


def word_count(text: str) -> int:
    # words as a reader counts them: what stands between spaces
    return len(text.split())


# trafilatura's work grows faster than the page (its "//p//text()" test is
# quadratic in libxml2): 50,000 paragraphs take 9 s, the million that fit in
# 8 MB would hold a worker for longer than Kafka lets a consumer go silent,
# and its batch would be read again and again. News pages have a few thousand.
MAX_ELEMENTS = 50_000


def _prepared_tree(html: str, rules: ExtractionRules | None,
                   origins: dict[str, str]) -> tuple[HtmlElement | None, list[str], str | None]:
    """The parsed page ready for trafilatura, the kickers taken out of it,
    and why the parser stopped before the end of the page (None: it did not)."""
    crowded = crowded_tag(html)
    if crowded is not None:
        raise ExtractionError("too_large", f"a tag has {crowded:,} attributes, limit {MAX_TAG_ATTRIBUTES:,}",
                              kind="too_many_attributes")
    tree, cut_short = parse_page(html)
    if tree is None:
        return None, [], None
    # every element starts with "<": most pages are not counted at all
    if html.count("<") > MAX_ELEMENTS and (elements := sum(1 for _ in tree.iter())) > MAX_ELEMENTS:
        raise ExtractionError("too_large", f"page has {elements:,} elements, limit {MAX_ELEMENTS:,}",
                              kind="too_many_elements")
    if rules is not None and not rules.empty:
        counts = rules.apply(tree)
        origins["body"] = "source_rules"
        log.debug("source_rules_applied", counts=counts)
    kickers = take_kickers(tree)
    prepare(tree)
    return tree, kickers, cut_short


# Built once: trafilatura builds its options from its config file on every
# call otherwise (a twentieth of the extraction time); each page gets a copy
# carrying its URL.
_TRAFILATURA_OPTIONS = Extractor(
    output_format="python",
    comments=False,
    # trafilatura's own fallback (readability, jusText) costs a fifth of
    # the extraction time; the page preparation and the furniture rules
    # do better on the evaluation set (rasd bench-extract).
    fast=True,
    # read below from the same tree, without trafilatura's slow searches
    with_metadata=False,
)


def extract_article(page: FetchedPage, *, min_chars: int, profile: SourceProfile | None = None,
                    max_page_bytes: int | None = None) -> Article:
    """Extract the article in ``page`` or raise ExtractionError.
    ``profile``: the source's time zone and extraction rules (sources file)."""
    if not is_html(page.content_type):
        raise ExtractionError("not_html", f"content-type {page.content_type!r}")
    try:
        raw = page.body(max_bytes=max_page_bytes)
    except BodyTooLarge as exc:
        raise ExtractionError("too_large", f"page {exc}", kind="too_large") from exc
    except Exception as exc:  # zstd failure: the message is unusable
        raise ExtractionError("undecodable", repr(exc)) from exc
    binary = binary_kind(raw)
    if binary is not None:
        raise ExtractionError("not_html", f"the body is {binary} data although labelled {page.content_type!r}",
                              kind="binary")
    try:
        decoded = decode_page(raw, page.content_type)
    except Exception as exc:  # codec failure
        raise ExtractionError("undecodable", repr(exc)) from exc
    html = decoded.text
    origins: dict[str, str] = {"charset": decoded.origin}

    # Parsed once, prepared, then read by trafilatura (which works on a copy)
    # and by the date reader (the preparation changes nothing dates come from).
    tree, kickers, cut_short = _prepared_tree(html, profile.extraction if profile else None, origins)
    options = copy(_TRAFILATURA_OPTIONS)
    options.url = options.source = page.final_url
    doc = trafilatura.bare_extraction(tree if tree is not None else html, url=page.final_url, options=options)
    meta = page_metadata(tree, page.final_url) if tree is not None else PageMeta()
    origins.update(meta.origins)
    section = meta.section
    if section is None and kickers:
        section, origins["section"] = kickers[0], "kicker"
    text = restore_zwnj(doc.text or "") if doc is not None else ""
    raw_title = restore_zwnj(meta.title) if meta.title else None
    if raw_title is None and page.hint_title:
        raw_title, origins["title"] = page.hint_title, "feed"
    # A <title> often carries the site's name too: the part the page repeats
    # as its headline is the title. The headline and furniture lines leave the body.
    title = headline_of(raw_title, text) or raw_title
    stripped = strip_furniture(text, title)
    body = stripped.text
    # an article's verdict is not kept: its description is not asked for
    verdict = classify_page(tree, html, page.final_url, body, min_chars=min_chars, describe_article=False)
    if cut_short is not None:
        if not verdict.is_article or len(body) < min_chars:
            # the verdict is on the part read, not on the page: say so
            raise ExtractionError(
                "extraction_failed", f"the HTML parser stopped before the end of the page ({cut_short}); "
                f"{len(body)} characters of text in the part it read", kind="parser_limit")
        log.warning("page_cut_short_by_parser", url=page.final_url, reason=cut_short, body_chars=len(body))
    if not verdict.is_article:
        raise ExtractionError(_REASON_OF_CLASS[verdict.classification], verdict.detail, kind=verdict.kind)
    if len(body) < min_chars:
        raise ExtractionError("empty_extraction", f"{len(body)} characters of text (minimum {min_chars})", kind="no_text")

    canonical = meta.url if meta.url and _same_site(meta.url, page.final_url) else page.final_url
    if canonical == page.final_url:
        origins.pop("url", None)
    dates = page_dates(
        tree if tree is not None else html, page.final_url, feed_date=page.hint_published_at,
        site_tz=profile.zone if profile else None, fetched_at=page.fetched_at,
    )
    if dates.published:
        origins["published_at"] = dates.published.origin
    if dates.modified:
        origins["modified_at"] = dates.modified.origin
    language = detect_language(body)
    if language:
        origins["language"] = "text"
    body_norm = normalize_arabic(body)
    log.debug(
        "extraction origins", url=page.final_url, charset=decoded.encoding, origins=origins,
        undecodable_bytes=decoded.undecodable, furniture_removed=len(stripped.removed),
    )
    return Article(
        id=document_id(canonical),
        url=canonical_url(canonical),
        fetched_url=page.final_url,
        source=page.source,
        domain=domain_of(canonical),
        title=title,
        body=body,
        title_norm=normalize_arabic(title) if title else None,
        body_norm=body_norm,
        language=language,
        published_at=dates.published.value if dates.published else None,
        modified_at=dates.modified.value if dates.modified else None,
        authors=[restore_zwnj(a) for a in meta.authors],
        description=restore_zwnj(meta.description) if meta.description else None,
        site_name=meta.sitename,
        section=section,
        tags=list(meta.tags),
        image=meta.image,
        word_count=word_count(body),
        content_hash=content_hash(body_norm),
        furniture_removed=len(stripped.removed),
        charset=decoded.encoding,
        origins=origins,
        fetched_at=page.fetched_at,
        extracted_at=utcnow(),
    )


def with_body(article: Article, body: str, *, removed_lines: int) -> Article:
    """``article`` with a shorter body (site boilerplate removed after
    extraction): the fields derived from the body follow it."""
    body_norm = normalize_arabic(body)
    return article.model_copy(
        update={
            "body": body,
            "body_norm": body_norm,
            "content_hash": content_hash(body_norm),
            "word_count": word_count(body),
            "furniture_removed": article.furniture_removed + removed_lines,
        }
    )

"""The contracts of Rasd's Kafka topics: one pydantic model per topic,
versioned. A breaking change gets a new model *and* a new topic name
(``rasd.<topic>.v2``) so old and new consumers can run side by side."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Literal
from urllib.parse import urlsplit

import zstandard
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

# Compressing inside the message (not only with the producer's codec) keeps the
# stored page small whatever the topic's compression, and lets the crawler
# check the final size against Kafka's message limit before sending.
_ZSTD_LEVEL = 6


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def compress(body: bytes) -> bytes:
    return zstandard.ZstdCompressor(level=_ZSTD_LEVEL).compress(body)


class BodyTooLarge(ValueError):
    """A compressed body that inflates past the caller's limit."""

    def __init__(self, limit: int, declared: int | None) -> None:
        super().__init__(f"body is {declared:,} bytes, limit {limit:,}" if declared is not None
                         else f"body inflates past the limit of {limit:,} bytes")
        self.limit = limit
        self.declared = declared


def decompress(blob: bytes, max_bytes: int | None = None) -> bytes:
    """The body in ``blob``. With ``max_bytes``, a body larger than that
    raises BodyTooLarge having inflated at most max_bytes + 1 bytes: a
    message of a few kilobytes can inflate to gigabytes (a zstd bomb), and
    zstd allocates what the frame header declares before reading the data."""
    if max_bytes is None:
        return zstandard.ZstdDecompressor().decompress(blob)
    declared = zstandard.frame_content_size(blob)
    if declared > max_bytes:
        raise BodyTooLarge(max_bytes, declared)
    if declared >= 0:
        # allocates the declared size, refuses a frame cut short
        return zstandard.ZstdDecompressor().decompress(blob)
    # No size in the header (a streaming compressor): inflate a bounded
    # prefix to learn whether the body is over the limit, then the whole.
    with zstandard.ZstdDecompressor().stream_reader(blob) as reader:
        if len(reader.read(max_bytes + 1)) > max_bytes:
            raise BodyTooLarge(max_bytes, None)
    inflater = zstandard.ZstdDecompressor().decompressobj()
    body = inflater.decompress(blob)
    if not inflater.eof:  # the stream reader returns a cut frame's data without a word
        raise zstandard.ZstdError("compressed body ends before its frame does")
    return body


def _splittable(url: str) -> str:
    # Every stage splits a page's URL (identity, domain, logs); one that
    # cannot be split (``http://[::1/x``) would stop the stage at that page.
    try:
        urlsplit(url).hostname
    except ValueError as exc:
        raise ValueError(f"not a URL: {exc}") from exc
    return url


PageUrl = Annotated[str, AfterValidator(_splittable)]


# The index maps counts as 32-bit integers, and the engines' JSON encoder
# (orjson) refuses numbers past 64 bits: a larger count would fail the
# whole bulk request, not just its document.
Count = Annotated[int, Field(ge=0, le=2**31 - 1)]


class _Contract(BaseModel):
    model_config = ConfigDict(extra="forbid", ser_json_bytes="base64", val_json_bytes="base64")


class FetchedPage(_Contract):
    """Topic ``pages``: one HTTP response the crawler fetched, raw."""

    schema_name: Literal["rasd.page"] = "rasd.page"
    schema_version: Literal[1] = 1
    url: PageUrl = Field(description="URL the crawler asked for")
    final_url: PageUrl = Field(description="URL after redirects")
    status: int
    headers: dict[str, str] = Field(default_factory=dict)
    # aware: the extraction compares it with the page's dates, which carry their zone
    fetched_at: AwareDatetime
    source: str = Field(description="name of the configured source")
    discovered_via: Literal["feed", "sitemap", "section", "seed"] = "seed"
    hint_title: str | None = Field(default=None, description="title given by the feed or sitemap")
    hint_published_at: datetime | None = Field(default=None, description="date given by the feed or sitemap")
    body_zstd: bytes = Field(description="raw response body, zstd-compressed")

    def body(self, max_bytes: int | None = None) -> bytes:
        """The raw body; BodyTooLarge past ``max_bytes`` (see decompress)."""
        return decompress(self.body_zstd, max_bytes)

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")


Classification = Literal["article", "not_article", "empty", "too_large", "failed"]

# Where a field's value came from, recorded per field in ``Article.origins``:
# e.g. "jsonld", "meta", "time", "text", "htmldate", "url", "feed", "title_tag",
# "h1", "http", "bom", "utf8", "meta_charset", "detected", "source_rules".
FieldOrigin = str


class Article(_Contract):
    """Topic ``articles`` (v2): one extracted article, ready to index.

    v2 adds what an analyst needs to trust a document: where each field came
    from, modified date, site name, section, tags, image, word count, the
    Arabic-normalized copies used for duplicate detection and matching, the
    content hash and the story cluster."""

    schema_name: Literal["rasd.article"] = "rasd.article"
    schema_version: Literal[2] = 2
    id: str = Field(description="hash of the canonical URL: the document id everywhere")
    url: str = Field(description="canonical URL")
    fetched_url: str
    source: str
    domain: str
    classification: Literal["article"] = Field(
        default="article", description="only articles are published; other pages are dead-lettered with their class"
    )
    title: str | None = None
    body: str
    title_norm: str | None = Field(default=None, description="title in Lucene's Arabic normalization (original kept)")
    body_norm: str = Field(default="", description="body in Lucene's Arabic normalization (original kept)")
    language: str | None = None
    published_at: datetime | None = None
    modified_at: datetime | None = None
    authors: list[str] = Field(default_factory=list)
    description: str | None = None
    site_name: str | None = None
    section: str | None = None
    tags: list[str] = Field(default_factory=list)
    image: str | None = Field(default=None, description="main image URL")
    word_count: Count = 0
    content_hash: str = Field(default="", description="sha256 of the normalized body: exact duplicates share it")
    duplicate_of: str | None = Field(default=None, description="id of the first article with the same content hash")
    cluster_id: str | None = Field(default=None, description="story cluster: stable, the id of its first-seen member")
    furniture_removed: Count = Field(default=0, description="furniture and site boilerplate lines removed from the body")
    charset: str | None = Field(default=None, description="encoding the page was decoded with")
    origins: dict[str, FieldOrigin] = Field(default_factory=dict, description="field name -> where its value came from")
    fetched_at: datetime
    extracted_at: datetime


ListingKind = Literal["feed", "sitemap", "section", "homepage", "robots"]
LinkKind = Literal["article", "feed", "sitemap", "section", "homepage", "robots"]


class FrontierLink(_Contract):
    """Topic ``frontier``: a URL some crawler found, keyed by its host. The
    crawler process that owns the host (its partition) records it in the
    URL status index and fetches it when it is due."""

    schema_name: Literal["rasd.frontier_link"] = "rasd.frontier_link"
    schema_version: Literal[1] = 1
    url: PageUrl = Field(description="canonical URL for articles, the exact URL for listings")
    kind: LinkKind
    source: str
    host: str
    discovered_via: Literal["feed", "sitemap", "section", "seed"] = "seed"
    discovered_from: str | None = Field(default=None, description="URL of the listing that named it")
    hint_title: str | None = None
    hint_published_at: datetime | None = None
    discovered_at: datetime = Field(default_factory=utcnow)


Severity = Literal["low", "medium", "high", "critical"]


class Alert(_Contract):
    """Topic ``alerts``: a keyword rule matched an indexed article. Keyed by
    rule name. The id is derived from rule and article, so a replayed batch
    sends the same alert again, never a second one."""

    schema_name: Literal["rasd.alert"] = "rasd.alert"
    schema_version: Literal[1] = 1
    id: str = Field(description="hash of rule name and story cluster id (the article id when it has no cluster)")
    rule: str
    severity: Severity = "medium"
    channels: list[str] = Field(default_factory=list, description="names of the channels the rule notifies")
    article_id: str
    url: str
    source: str
    title: str | None = None
    language: str | None = None
    published_at: datetime | None = None
    snippet: str | None = Field(default=None, description="text around the matched words, marked <mark>...</mark>")
    matched_terms: list[str] = Field(default_factory=list, description="the words of the article that matched")
    indexed_at: datetime = Field(description="when the engine acknowledged the article")
    alerted_at: datetime = Field(default_factory=utcnow)


DeadLetterReason = Literal[
    "http_error",
    "fetch_failed",
    "address_refused",
    "not_html",
    "too_large",
    "empty_extraction",
    "extraction_failed",
    "undecodable",
    "invalid_message",
    "index_rejected",
    "alert_undeliverable",
    "percolate_failed",
    "not_article",
]


# A detail says why in a few sentences. One that quotes its input at length
# (an exception's repr, a server's header) could make the letter too large
# for Kafka, and a stage that cannot send a dead letter cannot commit.
DEAD_LETTER_DETAIL_CHARS = 2_000


def _clipped(detail: str) -> str:
    if len(detail) <= DEAD_LETTER_DETAIL_CHARS:
        return detail
    # the middle goes: an engine's reason says what failed first and why last ("caused by ...")
    half = (DEAD_LETTER_DETAIL_CHARS - 1) // 2
    return detail[:half] + "\u2026" + detail[-half:]


class DeadLetter(_Contract):
    """Topic ``dead-letters``: anything a stage could not process, with why."""

    schema_name: Literal["rasd.dead_letter"] = "rasd.dead_letter"
    schema_version: Literal[1] = 1
    stage: Literal["crawl", "ingest", "index", "notify"]
    reason: DeadLetterReason
    detail: Annotated[str, AfterValidator(_clipped)]
    url: str | None = None
    http_status: int | None = None
    source: str | None = None
    input_topic: str | None = None
    input_partition: int | None = None
    input_offset: int | None = None
    payload_excerpt: str | None = Field(default=None, description="first bytes of an unreadable input, for diagnosis")
    occurred_at: datetime = Field(default_factory=utcnow)

    @property
    def key(self) -> str | None:
        """The letter's Kafka key, the same for every letter a stage writes
        about the same input. Stages are at-least-once: a batch replayed after
        a crash sends its dead letters again, and a page fetched again sends
        its own; the key lets a reader keep one per input. The input is the
        page when there is a URL (its replays and re-fetches alike), else the
        unreadable message's position."""
        if self.url:
            return f"{self.stage}:{self.url}"
        if self.input_topic is not None and self.input_partition is not None and self.input_offset is not None:
            return f"{self.stage}:{self.input_topic}/{self.input_partition}/{self.input_offset}"
        return None

"""Lines a site repeats on many of its pages, learned per domain and removed.

Pattern rules (``ingest.furniture``) know what furniture *says*; they cannot
know a site's own promotions ("30% off home internet this month"), newsletter
prompts or slogans. Those are recognised by repetition instead: a line that
already appeared on ``boilerplate_min_pages`` other pages of the same domain
is the site talking, not the article.

The counts live in an index of the search engine (one document per domain and
line), never in process memory or a local file: every ingest worker reads and
writes the same counts, they survive restarts, and a worker that scales out
starts with everything already learned. Writes are conditional (sequence
numbers from the read), so concurrent workers never overwrite each other's
page ids; a lost race is retried once and then dropped, since a lost count
only delays learning by a page.
"""
from __future__ import annotations

import hashlib
from functools import lru_cache
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

from ingest.engines.client import VendorClient
from ingest.engines.errors import EngineError, bulk_outcomes
from ingest.models import Article, utcnow
from ingest.settings import Settings
from ingest.shared_store import SharedStore, StoreOutage

log = structlog.get_logger(__name__)

# Longer lines are article paragraphs: a site does not repeat those, and
# hashing them would only fill the store.
MAX_LINE_WORDS = 80
SAMPLE_CHARS = 300
# Tatweel, harakat and Quranic annotation marks: the same line typed with or
# without them is the same line.
_ARABIC_MARKS = re.compile("[\u0610-\u061a\u0640\u064b-\u065f\u0670\u06d6-\u06ed]")
_SPACES = re.compile(r"\s+")

_KEYWORD = {"type": "keyword"}
INDEX_BODY: dict[str, Any] = {
    "settings": {"number_of_shards": 1, "number_of_replicas": 0},
    "mappings": {
        "dynamic": False,
        "properties": {
            "domain": _KEYWORD,
            "key": _KEYWORD,
            "pages": _KEYWORD,
            "sample": {"type": "keyword", "index": False, "doc_values": False},
            "updated_at": {"type": "date"},
        },
    },
}


def normalize_line(line: str) -> str:
    """NFC, Arabic marks dropped, whitespace collapsed, casefolded."""
    text = _ARABIC_MARKS.sub("", unicodedata.normalize("NFC", line))
    return _SPACES.sub(" ", text).strip().casefold()


# A site's boilerplate lines come back on every page: their keys are cached
# (the normalization was a tenth of the ingest worker's store time).
@lru_cache(maxsize=32_768)
def line_key(line: str) -> str:
    return hashlib.sha1(normalize_line(line).encode("utf-8")).hexdigest()


def doc_id(domain: str, key: str) -> str:
    """The store's document for one line of one site."""
    return hashlib.sha1(f"{domain}\x1f{key}".encode("utf-8")).hexdigest()


def _has_letter(line: str) -> bool:
    return any(unicodedata.category(ch).startswith("L") for ch in line)


def candidate_lines(body: str) -> list[str]:
    """The body lines that could be site boilerplate, distinct, in order.

    A line needs a letter: a live blog's "10:30" entry times or a "* * *"
    separator repeat on every page of a site, yet they are the article's
    structure, not furniture."""
    seen: set[str] = set()
    out: list[str] = []
    for raw in body.split("\n"):
        line = raw.strip()
        if not line or len(line.split()) > MAX_LINE_WORDS or not _has_letter(line):
            continue
        key = line_key(line)
        if key not in seen:
            seen.add(key)
            out.append(line)
    return out


def remove_lines(body: str, keys: frozenset[str] | set[str]) -> tuple[str, int]:
    """``body`` without the lines whose key is in ``keys`` (order kept), and
    how many lines went."""
    if not keys:
        return body, 0
    kept: list[str] = []
    removed = 0
    for raw in body.split("\n"):
        line = raw.strip()
        if line and len(line.split()) <= MAX_LINE_WORDS and line_key(line) in keys:
            removed += 1
        else:
            kept.append(raw)
    return "\n".join(kept).strip(), removed


@dataclass
class _Stored:
    pages: list[str]
    seq_no: int
    primary_term: int


@dataclass
class _Seen:
    """One line of one site as this batch has it."""

    domain: str
    key: str
    sample: str
    pages: list[str] = field(default_factory=list)


@dataclass
class Sightings:
    """What ``BoilerplateStore.known`` read for a batch: ``known[i]`` holds
    the keys of the lines of ``batch[i]`` that its site repeats elsewhere;
    ``record`` writes the batch's pages from the same read."""

    known: list[frozenset[str]]
    seen: dict[str, _Seen]
    stored: dict[str, _Stored]


class BoilerplateStore:
    """The per-site line counts, in the index ``settings.boilerplate_index``.

    A document lists up to ``min_pages + 1`` distinct article ids: with one
    more than the threshold, every page that carries the line (the listed
    ones too, when re-extracted or replayed) sees ``min_pages`` others."""

    def __init__(self, client: VendorClient, settings: Settings) -> None:
        self.client = client
        self.index = settings.boilerplate_index
        self.min_pages = settings.boilerplate_min_pages
        self.cap = self.min_pages + 1

    def ensure(self) -> None:
        """Create the index if missing (idempotent; racing creators are fine)."""
        self.client.ensure_plain_index(self.index, INDEX_BODY)

    def _read(self, ids: Sequence[str]) -> dict[str, _Stored]:
        stored: dict[str, _Stored] = {}
        for entry in self.client.mget_raw(self.index, ids):
            if entry.get("found"):
                pages = entry.get("_source", {}).get("pages") or []
                stored[entry["_id"]] = _Stored(list(pages), entry["_seq_no"], entry["_primary_term"])
        return stored

    def known(self, batch: Sequence[Article]) -> Sightings:
        """One ``_mget`` for every candidate line of the batch. A line is known
        for an article when the pages of its site carrying it, stored or in
        this batch, number ``min_pages`` or more without the article itself."""
        seen: dict[str, _Seen] = {}
        per_article: list[dict[str, str]] = []
        for article in batch:
            ids: dict[str, str] = {}
            for line in candidate_lines(article.body):
                key = line_key(line)
                did = doc_id(article.domain, key)
                ids[did] = key
                entry = seen.setdefault(did, _Seen(article.domain, key, line[:SAMPLE_CHARS]))
                if article.id not in entry.pages:
                    entry.pages.append(article.id)
            per_article.append(ids)
        stored = self._read(list(seen)) if seen else {}
        known: list[frozenset[str]] = []
        for article, ids in zip(batch, per_article):
            known.append(frozenset(
                key for did, key in ids.items()
                if len(self._pages(seen[did], stored.get(did)) - {article.id}) >= self.min_pages
            ))
        return Sightings(known=known, seen=seen, stored=stored)

    @staticmethod
    def _pages(seen: _Seen, stored: _Stored | None) -> set[str]:
        return set(seen.pages) | set(stored.pages if stored else ())

    def _ops(self, ids: Sequence[str], seen: dict[str, _Seen], stored: dict[str, _Stored]) -> list[dict[str, Any]]:
        ops: list[dict[str, Any]] = []
        now = utcnow().isoformat()
        for did in ids:
            line, doc = seen[did], stored.get(did)
            before = doc.pages if doc else []
            # a page id is added once: replaying a page changes nothing
            pages = (before + [p for p in line.pages if p not in before])[: self.cap]
            if pages == before:
                continue
            if doc is None:
                ops.append({"create": {"_index": self.index, "_id": did}})
            else:
                ops.append({"index": {"_index": self.index, "_id": did,
                                      "if_seq_no": doc.seq_no, "if_primary_term": doc.primary_term}})
            ops.append({"domain": line.domain, "key": line.key, "sample": line.sample, "pages": pages,
                        "updated_at": now})
        return ops

    def _write(self, ops: list[dict[str, Any]]) -> list[str]:
        """One bulk; the ids another writer changed first (409)."""
        if not ops:
            return []
        _done, conflicts = bulk_outcomes(self.client.bulk_raw(ops), "boilerplate store refused a write")
        return conflicts

    def record(self, sightings: Sightings) -> None:
        """Add the batch's page ids to the lines' documents (those not full
        yet): conditional writes from the read of ``known``; a document
        another worker wrote meanwhile is read again and written once more."""
        conflicts = self._write(self._ops(list(sightings.seen), sightings.seen, sightings.stored))
        if not conflicts:
            return
        fresh = self._read(conflicts)
        lost = self._write(self._ops(conflicts, sightings.seen, fresh))
        if lost:
            log.debug("boilerplate_counts_lost", lines=len(lost))


@dataclass(frozen=True)
class Cleaned:
    article: Article
    removed_lines: int


# After a failure the store is left alone this long (those batches pass
# unfiltered): a dead engine would otherwise cost every batch a timeout.
RECONNECT_AFTER_S = 30.0


class SiteBoilerplate:
    """The ingest worker's view of the store: removes the known lines from a
    batch's articles and records the batch. The engine being unreachable
    never stops ingest: articles then pass unfiltered, with one warning per
    outage."""

    def __init__(self, settings: Settings, connect: Callable[[Settings], VendorClient] | None = None) -> None:
        self.settings = settings
        outage = StoreOutage("boilerplate_store", settings.boilerplate_index,
                             "articles are published without removing site boilerplate")
        self._shared = SharedStore(settings, outage, self._open, connect=connect)
        self._outage = outage

    def _open(self, client: VendorClient) -> BoilerplateStore:
        store = BoilerplateStore(client, self.settings)
        store.ensure()
        return store

    def clean(self, articles: Sequence[Article]) -> list[Cleaned]:
        """The articles without their site's repeated lines, in order; the
        batch's lines are counted for the pages to come."""
        if not articles:
            return []
        try:
            store = self._shared.get()
            if store is None:
                return [Cleaned(a, 0) for a in articles]
            sightings = store.known(articles)
        except EngineError as exc:
            self._outage.failed(exc, RECONNECT_AFTER_S)
            return [Cleaned(a, 0) for a in articles]
        cleaned: list[Cleaned] = []
        for article, keys in zip(articles, sightings.known):
            body, removed = remove_lines(article.body, keys)
            cleaned.append(Cleaned(article.model_copy(update={"body": body}) if removed else article, removed))
        try:
            store.record(sightings)
        except EngineError as exc:
            self._outage.failed(exc, RECONNECT_AFTER_S)
        else:
            self._outage.recovered()
        return cleaned

    def close(self) -> None:
        self._shared.close()
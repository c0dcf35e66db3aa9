"""Match a batch of articles against every stored rule in one percolate
request per page of rules.

The rules index holds each rule as a percolator query (see
``indexer.alerts.compile``); the articles travel inline, so matching needs no
refresh of the articles index and costs one request however many rules
there are. Results are paged by rule name with ``search_after``: a fixed
``size`` alone would silently drop every match past it."""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

from ingest.engines.client import VendorClient
from ingest.engines.errors import EngineError
from indexer.alerts.compile import MATCH_FIELDS
from indexer.alerts.records import Channel

log = structlog.get_logger(__name__)

# The fields a rule can look at; everything else of the article stays home.
PERCOLATED_FIELDS = ("title", "description", "body", "language", "source", "tags")
HIGHLIGHT_FIELDS = MATCH_FIELDS
MARK_OPEN, MARK_CLOSE = "<mark>", "</mark>"
_MARKED = re.compile(re.escape(MARK_OPEN) + r"(.*?)" + re.escape(MARK_CLOSE), re.S)
# Phrase words are marked one by one; marks separated only by spaces or a
# ZWNJ are one matched phrase.
_BETWEEN_MARKS = re.compile(re.escape(MARK_CLOSE) + r"([\s\u200c]+)" + re.escape(MARK_OPEN))


def marked_terms(fragments: Sequence[str]) -> list[str]:
    """The words inside ``<mark>`` tags (adjacent marks joined into one
    phrase), distinct, in order of appearance."""
    terms: dict[str, None] = {}
    for fragment in fragments:
        for term in _MARKED.findall(_BETWEEN_MARKS.sub(r"\1", fragment)):
            text = " ".join(term.replace("\u200c", " ").split())
            if text:
                terms.setdefault(text, None)
    return list(terms)


@dataclass(frozen=True)
class RuleMatch:
    """One rule that matched one article, with what the alert needs to say."""

    rule: str
    severity: str
    channels: tuple[Channel, ...]
    cooldown_s: float
    digest: bool
    fragments: tuple[str, ...] = ()

    @property
    def snippet(self) -> str | None:
        return self.fragments[0] if self.fragments else None

    @property
    def matched_terms(self) -> list[str]:
        """The article's own words that matched, in order of first appearance."""
        return marked_terms(self.fragments)


@dataclass
class PercolateStats:
    pages: int = 0
    matches: int = 0
    rules_index_missing: bool = False
    slots: dict[int, list[RuleMatch]] = field(default_factory=dict)


def percolation_document(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of an article a rule can look at (``text`` is accepted for
    the body, as users write it in a test file)."""
    found = {name: doc[name] for name in PERCOLATED_FIELDS if doc.get(name) is not None}
    if "body" not in found and doc.get("text") is not None:
        found["body"] = doc["text"]
    return found


def _request(documents: list[dict[str, Any]], size: int, after: list[Any] | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "size": size,
        "_source": ["rule"],
        # A filter: matching needs no score, and sorting by name pages stably.
        "query": {"constant_score": {"filter": {"percolate": {"field": "query", "documents": documents}}}},
        "sort": [{"rule.name": "asc"}],
        "highlight": {
            "pre_tags": [MARK_OPEN],
            "post_tags": [MARK_CLOSE],
            "fragment_size": 160,
            "number_of_fragments": 3,
            "fields": {name: {} for name in HIGHLIGHT_FIELDS},
        },
    }
    if after is not None:
        body["search_after"] = after
    return body


def _fragments(highlight: dict[str, list[str]], slot: int, single: bool) -> tuple[str, ...]:
    # With several documents the engine names highlights "<slot>_<field>",
    # with one document just "<field>". The body's fragments say most, then
    # the description, then the title.
    out: list[str] = []
    for name in reversed(HIGHLIGHT_FIELDS):
        out.extend(highlight.get(name if single else f"{slot}_{name}", []))
    return tuple(out)


def percolate(
    client: VendorClient, rules_index: str, docs: Sequence[dict[str, Any]], *, page_size: int
) -> PercolateStats:
    """Which rules match which of ``docs`` (by position). A missing rules
    index means no rules: the result is empty, not an error."""
    stats = PercolateStats()
    if not docs:
        return stats
    # Asked first, not inferred from the percolate answer: an engine without
    # the percolator module (the local Elasticsearch) refuses the query
    # itself (400) before it looks for the index.
    if not client.index_exists(rules_index):
        stats.rules_index_missing = True
        return stats
    documents = [percolation_document(doc) for doc in docs]
    after: list[Any] | None = None
    while True:
        try:
            response = client.search_raw(rules_index, _request(documents, page_size, after))
        except EngineError as exc:
            if exc.status == 404 and exc.error_type == "index_not_found_exception":
                stats.rules_index_missing = True
                return stats
            raise
        hits = response["hits"]["hits"]
        stats.pages += 1
        for hit in hits:
            rule = hit["_source"]["rule"]
            channels = tuple(Channel.model_validate(c) for c in rule.get("channels") or [])
            highlight = hit.get("highlight", {})
            for slot in hit.get("fields", {}).get("_percolator_document_slot", []):
                stats.slots.setdefault(slot, []).append(
                    RuleMatch(
                        rule=rule["name"],
                        severity=rule.get("severity", "medium"),
                        channels=channels,
                        cooldown_s=float(rule.get("cooldown_s") or 0.0),
                        digest=bool(rule.get("digest", False)),
                        fragments=_fragments(highlight, slot, single=len(documents) == 1),
                    )
                )
                stats.matches += 1
        if len(hits) < page_size:
            return stats
        after = hits[-1]["sort"]

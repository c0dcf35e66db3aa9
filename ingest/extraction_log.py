"""One small record per processed page, for per-source extraction health.

``rasd sources health`` compares each source's last day with the week
before it (``rasd.sources_health``): when a site is redesigned, the
extraction of its pages degrades silently (empty bodies, lost titles, nav
text in the body) and only the rates over many pages show it.

The records live in an index of the search engine, not in process memory:
every ingest worker writes to the same place, the report aggregates there,
and the records survive restarts. A record's id is derived from the page and
its fetch time, so a replayed batch or a ``rasd reextract`` overwrites the
record instead of counting the page twice.

A health record is worth much less than the article it describes: the
engine being down (or refusing a write) is logged once per outage and the
records are dropped, never raised to the ingest worker.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, get_args

import structlog

from ingest.engines.client import VendorClient
from ingest.engines.errors import EngineError, error_reason
from ingest.models import Classification
from ingest.settings import Settings
from ingest.shared_store import SharedStore, StoreOutage

log = structlog.get_logger(__name__)

CLASSIFICATIONS: tuple[str, ...] = get_args(Classification)

_KEYWORD = {"type": "keyword"}
INDEX_BODY: dict[str, Any] = {
    "settings": {"number_of_shards": 1, "number_of_replicas": 0},
    "mappings": {
        # the report aggregates on these fields only; anything else a future
        # writer adds must not grow the mapping behind our back
        "dynamic": False,
        "properties": {
            "source": _KEYWORD,
            # kept to find example pages by hand, never searched or aggregated
            "url": {"type": "keyword", "index": False, "doc_values": False},
            "page_id": _KEYWORD,
            "fetched_at": {"type": "date"},
            "classification": _KEYWORD,
            "reason": _KEYWORD,
            "has_title": {"type": "boolean"},
            "has_date": {"type": "boolean"},
            "body_chars": {"type": "integer"},
            "furniture_lines": {"type": "integer"},
            "recorded_at": {"type": "date"},
        },
    },
}

# After a failure the store is left alone this long (those records are
# dropped): a dead engine would otherwise cost every batch a timeout.
RECONNECT_AFTER_S = 30.0


@dataclass(frozen=True)
class PageOutcome:
    """What extraction made of one fetched page."""

    source: str
    url: str
    page_id: str  # ingest.identity.document_id(final_url)
    fetched_at: datetime  # tz-aware
    classification: str  # one of CLASSIFICATIONS
    reason: str | None  # dead-letter reason when not an article
    has_title: bool
    has_date: bool
    body_chars: int
    furniture_lines: int  # removed by the furniture rules and site boilerplate


def _utc_text(when: datetime) -> str:
    # Millisecond precision: the engine's date type keeps no more, and the id
    # must be the same for the same fetch however the datetime was built.
    if when.tzinfo is None:
        # a naive fetch time is UTC everywhere in ingest; guessing local time
        # would shift the record into another window
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def record_id(page_id: str, fetched_at: datetime) -> str:
    """The record of one fetch of one page: the same again when replayed."""
    return hashlib.sha1(f"{page_id}\x1f{_utc_text(fetched_at)}".encode("utf-8")).hexdigest()


def record_doc(outcome: PageOutcome, recorded_at: datetime) -> dict[str, Any]:
    return {
        "source": outcome.source,
        "url": outcome.url,
        "page_id": outcome.page_id,
        "fetched_at": _utc_text(outcome.fetched_at),
        "classification": outcome.classification,
        "reason": outcome.reason,
        "has_title": outcome.has_title,
        "has_date": outcome.has_date,
        "body_chars": outcome.body_chars,
        "furniture_lines": outcome.furniture_lines,
        "recorded_at": _utc_text(recorded_at),
    }


class ExtractionLog:
    """Writes page outcomes to ``settings.extraction_log_index``, one bulk
    request per ``record`` call. Connects on first use; a client passed in
    stays the caller's (``close`` leaves it open)."""

    def __init__(
        self,
        settings: Settings,
        client: VendorClient | None = None,
        *,
        connect: Callable[[Settings], VendorClient] | None = None,
    ) -> None:
        self.settings = settings
        self.index = settings.extraction_log_index
        outage = StoreOutage("extraction_log", self.index,
                             "extraction health records are dropped until the engine answers")
        self._shared = SharedStore(settings, outage, self._open, client=client, connect=connect)
        self._outage = outage

    def _open(self, client: VendorClient) -> VendorClient:
        client.ensure_plain_index(self.index, INDEX_BODY)
        return client

    def _operations(self, outcomes: Sequence[PageOutcome]) -> list[dict[str, Any]]:
        now = datetime.now(timezone.utc)
        ops: list[dict[str, Any]] = []
        for outcome in outcomes:
            ops.append({"index": {"_index": self.index, "_id": record_id(outcome.page_id, outcome.fetched_at)}})
            ops.append(record_doc(outcome, now))
        return ops

    def record(self, outcomes: Sequence[PageOutcome]) -> None:
        """Store the outcomes (one bulk request). Never raises: a lost health
        record must not hold up the articles."""
        if not outcomes:
            return
        try:
            client = self._shared.get()
            if client is None:
                return
            response = client.bulk_raw(self._operations(outcomes))
        except EngineError as exc:
            self._outage.failed(exc, RECONNECT_AFTER_S)
            return
        except Exception as exc:  # a bug here must not stop ingest either; say so loudly
            log.error("extraction_log_failed", index=self.index, error=repr(exc), pages=len(outcomes))
            return
        self._outage.recovered()
        if response.get("errors"):
            refused = [next(iter(item.values())) for item in response.get("items", [])]
            refused = [r for r in refused if r.get("status", 0) >= 300]
            if refused:
                log.warning("extraction_log_refused", index=self.index, refused=len(refused), pages=len(outcomes),
                            status=refused[0].get("status"), error=error_reason(refused[0].get("error")))

    def close(self) -> None:
        self._shared.close()

"""The URL status index: the crawl's memory, in the search engine.

Like StormCrawler's status index: one document per URL with its status and
``next_fetch_at``; a crawler process asks for the due URLs of the
partitions it owns, at most a few per host (a collapse on ``host``) so one
big site cannot crowd out the others. Nothing here is held in memory: a
process only keeps the URLs it is working on."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import structlog

from ingest.engines.client import VendorClient
from ingest.engines.errors import EngineError, error_reason
from ingest.models import utcnow

from crawlers.frontier.status import UrlStatus

log = structlog.get_logger(__name__)

_KEYWORD = {"type": "keyword"}
_DATE = {"type": "date"}
_UNINDEXED = {"type": "keyword", "index": False, "doc_values": False}

MAPPINGS: dict[str, Any] = {
    "dynamic": False,
    "properties": {
        "url": _KEYWORD,
        "fetch_url": _UNINDEXED,
        "kind": _KEYWORD,
        "source": _KEYWORD,
        "host": _KEYWORD,
        "partition": {"type": "integer"},
        "status": _KEYWORD,
        "via": _KEYWORD,
        "next_fetch_at": _DATE,
        "first_seen_at": _DATE,
        "last_fetched_at": _DATE,
        "fetch_count": {"type": "integer"},
        "last_http_status": {"type": "integer"},
        "consecutive_errors": {"type": "integer"},
        "interval_s": {"type": "float"},
    },
}
SETTINGS: dict[str, Any] = {"number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": "1s"}


class StoreError(RuntimeError):
    """The status index refused or lost a write."""


class StatusStore:
    def __init__(self, client: VendorClient, index: str) -> None:
        self.client = client
        self.index = index

    def ensure(self) -> None:
        """Create the index if missing (idempotent; racing creators are fine)."""
        self.client.ensure_plain_index(self.index, {"settings": SETTINGS, "mappings": MAPPINGS})

    def add_new(self, records: Sequence[UrlStatus]) -> int:
        """Record URLs not seen before (``create``: a known URL keeps its
        record). Returns how many were new."""
        if not records:
            return 0
        ops: list[dict[str, Any]] = []
        for rec in records:
            ops.append({"create": {"_index": self.index, "_id": rec.id}})
            ops.append(rec.doc())
        response = self.client.bulk_raw(ops, refresh="wait_for")
        created = 0
        for item in response.get("items", []):
            outcome = item.get("create", {})
            status = outcome.get("status")
            if status == 201:
                created += 1
            elif status != 409:
                raise StoreError(f"status index refused a new URL: {error_reason(outcome.get('error'))}")
        return created

    def write(self, records: Sequence[UrlStatus]) -> None:
        """Overwrite the records (the owner of a host is their only writer).
        Returns once the writes are searchable, so no due-query after this
        sees the old state."""
        if not records:
            return
        ops: list[dict[str, Any]] = []
        for rec in records:
            ops.append({"index": {"_index": self.index, "_id": rec.id}})
            ops.append(rec.doc())
        response = self.client.bulk_raw(ops, refresh="wait_for")
        if response.get("errors"):
            bad = next(i["index"] for i in response["items"] if "error" in i.get("index", {}))
            raise StoreError(f"status index refused an update: {error_reason(bad.get('error'))}")

    def get(self, ids: Sequence[str]) -> dict[str, UrlStatus]:
        found: dict[str, UrlStatus] = {}
        for entry in self.client.mget_raw(self.index, ids):
            if entry.get("found"):
                found[entry["_id"]] = UrlStatus.model_validate(entry["_source"])
        return found

    def due(
        self,
        partitions: Iterable[int],
        *,
        per_host: int,
        max_hosts: int = 500,
        now: datetime | None = None,
        exclude_hosts: Iterable[str] = (),
    ) -> list[UrlStatus]:
        """URLs whose ``next_fetch_at`` has come, in the given partitions,
        the earliest first, at most ``per_host`` per host."""
        parts = sorted(partitions)
        if not parts:
            return []
        moment = (now or utcnow()).isoformat()
        query: dict[str, Any] = {
            "bool": {
                "filter": [
                    {"terms": {"partition": parts}},
                    {"range": {"next_fetch_at": {"lte": moment}}},
                ],
                "must_not": [{"terms": {"host": list(exclude_hosts)}}] if exclude_hosts else [],
            }
        }
        body = {
            "size": max_hosts,
            "query": query,
            "sort": [{"next_fetch_at": "asc"}],
            "collapse": {
                "field": "host",
                "inner_hits": {"name": "due", "size": per_host, "sort": [{"next_fetch_at": "asc"}]},
            },
            "_source": False,
        }
        try:
            hits = self.client.search_raw(self.index, body)["hits"]["hits"]
        except EngineError as exc:
            if exc.status == 404:
                return []
            raise
        out: list[UrlStatus] = []
        for hit in hits:
            for inner in hit["inner_hits"]["due"]["hits"]["hits"]:
                out.append(UrlStatus.model_validate(inner["_source"]))
        return out

    def count(self, query: dict[str, Any] | None = None) -> int:
        body = {"query": query} if query else None
        return int(self.client.count_raw(self.index, body)["count"])

    def search(self, query: dict[str, Any], size: int = 1000) -> list[UrlStatus]:
        hits = self.client.search_raw(self.index, {"size": size, "query": query})["hits"]["hits"]
        return [UrlStatus.model_validate(h["_source"]) for h in hits]

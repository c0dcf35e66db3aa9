"""The engine logic shared by both adapters. An adapter only maps a handful
of REST calls onto its client and translates the client's exceptions into
``EngineError``; index layout, bulk bookkeeping and queries live here."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import structlog

from indexer import mapping
from indexer.bulk import RESPONSE_FILTER, BulkLimits, action_pair, chunk_ranges
from ingest.engines.client import VendorClient
from ingest.engines.connection import EngineConnection
from ingest.engines.errors import EngineError, error_reason, is_retryable_status
from indexer.engines.base import BulkOutcome, ItemResult
from indexer.engines.lifecycle_calls import LifecycleCalls

log = structlog.get_logger(__name__)

def _blocked(outcome: dict[str, Any]) -> bool:
    # A write block (a migration blocks the old indices, a full disk blocks
    # all) is temporary for the document: a retry is routed anew or waits.
    return (outcome.get("error") or {}).get("type") == "cluster_block_exception"


class ClientEngine(LifecycleCalls, VendorClient):
    """A ``SearchEngine`` on top of a vendor client (mixed in by each adapter)."""

    def __init__(
        self, connection: EngineConnection, info: dict[str, Any], *, bulk_limits: BulkLimits = BulkLimits()
    ) -> None:
        super().__init__(connection, info)
        self.bulk_limits = bulk_limits
        self._bulk_pool: ThreadPoolExecutor | None = None
        self._arabic: bool | None = None
        self._filters: frozenset[str] | None = None

    # -- analysis --
    def analyze(
        self,
        text: str,
        *,
        analyzer: str | None = None,
        index: str | None = None,
        tokenizer: str | None = None,
        filters: Sequence[str | dict[str, Any]] = (),
        char_filters: Sequence[str | dict[str, Any]] = (),
    ) -> list[str]:
        body: dict[str, Any] = {"text": text}
        if analyzer:
            body["analyzer"] = analyzer
        if tokenizer:
            body["tokenizer"] = tokenizer
        if filters:
            body["filter"] = list(filters)
        if char_filters:
            body["char_filter"] = list(char_filters)
        return [t["token"] for t in self.analyze_raw(body, index).get("tokens", [])]

    def has_arabic_analysis(self) -> bool:
        if self._arabic is None:
            self._arabic = self._accepts(lambda: self.analyze("الأخبار", analyzer="arabic"))
        return self._arabic

    def available_filters(self) -> frozenset[str]:
        """Which of the analysis chains' token filters this engine accepts,
        found by asking it to run each one, not by vendor or version."""
        if self._filters is None:
            found = frozenset(
                name
                for name in mapping.CANDIDATE_FILTERS
                if self._accepts(
                    lambda name=name: self.analyze("x", tokenizer="standard", filters=[mapping.probe_definition(name)])
                )
            ) | frozenset(
                name
                for name in mapping.CANDIDATE_CHAR_FILTERS
                if self._accepts(
                    lambda name=name: self.analyze(
                        "x", tokenizer="standard", char_filters=[mapping.CUSTOM_CHAR_FILTERS[name]]
                    )
                )
            )
            missing = [f for f in mapping.CANDIDATE_FILTERS + mapping.CANDIDATE_CHAR_FILTERS if f not in found]
            log.info(
                "analysis_probe",
                distribution=self.distribution,
                version=self.version,
                arabic_analyzer=self.has_arabic_analysis(),
                missing_filters=missing,
            )
            self._filters = found
        return self._filters

    @staticmethod
    def _accepts(call: Any) -> bool:
        try:
            call()
        except EngineError as exc:
            if exc.retryable:
                raise
            return False
        return True

    # -- index layout --
    def ensure_index(self, alias: str, lifecycle_settings: Mapping[str, Any] | None = None) -> str:
        template = mapping.index_template(alias, self.available_filters(), lifecycle_settings)
        self.put_index_template(mapping.template_name(alias), template)
        write_index = self._write_index(alias)
        if write_index is None:
            name = mapping.first_index(alias)
            try:
                self.create_index(name, {"aliases": {alias: {"is_write_index": True}}})
                log.info("index_created", index=name, alias=alias, distribution=self.distribution)
            except EngineError as exc:
                # Another indexer won the race: fine, as long as the alias is there now.
                if exc.error_type != "resource_already_exists_exception":
                    raise
            write_index = self._write_index(alias)
            if write_index is None:
                raise EngineError(
                    f"index {name} exists but is not behind alias {alias}: attach the alias or delete the index",
                    status=None,
                    retryable=False,
                )
        else:
            # The template only shapes new indices; additive field changes
            # reach the live write index this way. Analysis changes need a rollover.
            try:
                self.put_mapping(write_index, mapping.article_mappings())
            except EngineError as exc:
                if exc.retryable:
                    raise
                log.warning("write_index_mapping_differs", index=write_index, alias=alias, error=str(exc))
        return write_index

    def _write_index(self, alias: str) -> str | None:
        try:
            found = self.get_alias(alias)
        except EngineError as exc:
            if exc.status == 404:
                return None
            raise
        indices = sorted(found)
        if not indices:
            return None
        if len(indices) == 1:
            return indices[0]
        for index in indices:
            if found[index].get("aliases", {}).get(alias, {}).get("is_write_index"):
                return index
        raise EngineError(f"alias {alias} spans {indices} but none is the write index", status=None, retryable=False)

    # -- documents --
    def bulk_index(
        self,
        alias: str,
        docs: Sequence[dict[str, Any]],
        *,
        limits: BulkLimits | None = None,
        targets: Mapping[str, str] | None = None,
    ) -> BulkOutcome:
        limits = limits or self.bulk_limits
        targets = targets or {}
        pairs = [action_pair(targets.get(doc["id"], alias), doc) for doc in docs]
        ranges = list(chunk_ranges([len(p) for p in pairs], limits))

        def send(span: range) -> list[ItemResult]:
            return self._bulk_chunk([docs[i]["id"] for i in span], [pairs[i] for i in span])

        if limits.concurrency > 1 and len(ranges) > 1:
            # Several requests in flight: the engine indexes one while this
            # process serializes or parses another. map keeps the order.
            per_chunk = list(self._pool(limits.concurrency).map(send, ranges))
        else:
            per_chunk = [send(span) for span in ranges]
        return BulkOutcome(items=[item for chunk in per_chunk for item in chunk])

    def _pool(self, workers: int) -> ThreadPoolExecutor:
        if self._bulk_pool is None or self._bulk_pool._max_workers != workers:
            if self._bulk_pool is not None:
                self._bulk_pool.shutdown(wait=True)
            self._bulk_pool = ThreadPoolExecutor(workers, thread_name_prefix=f"bulk-{self.distribution}")
        return self._bulk_pool

    def _bulk_chunk(self, ids: list[str], pairs: list[bytes]) -> list[ItemResult]:
        try:
            response = self.bulk_ndjson(b"".join(pairs), filter_path=RESPONSE_FILTER)
        except EngineError as exc:
            if not exc.retryable and len(ids) > 1:
                # The engine refused the request as a whole: one document is
                # the cause, so find it instead of failing the others.
                return [item for i in range(len(ids)) for item in self._bulk_chunk([ids[i]], [pairs[i]])]
            return [ItemResult(id, False, exc.status, str(exc), exc.retryable) for id in ids]
        results: list[ItemResult] = []
        for id, entry in zip(ids, response.get("items", []), strict=True):
            outcome = next(iter(entry.values()))
            status = outcome.get("status")
            if "error" in outcome or not (isinstance(status, int) and 200 <= status < 300):
                results.append(
                    ItemResult(id, False, status, error_reason(outcome.get("error")),
                               is_retryable_status(status) or _blocked(outcome))
                )
            else:
                results.append(ItemResult(id, True, status))
        return results

    def refresh(self, alias: str) -> None:
        self.refresh_index(alias)

    def search(self, alias: str, query_text: str, size: int = 10) -> list[dict[str, Any]]:
        body = {
            "size": size,
            "query": {"multi_match": {"query": query_text, "fields": list(mapping.SEARCH_FIELDS)}},
        }
        return list(self.search_raw(alias, body)["hits"]["hits"])

    def count(self, alias: str) -> int:
        return int(self.count_raw(alias)["count"])

    def get(self, alias: str, id: str) -> dict[str, Any] | None:
        # A search, not GET /<alias>/_doc: after a rollover the alias spans
        # several indices and a document GET through it is refused.
        hits = self.search_raw(alias, {"size": 1, "query": {"ids": {"values": [id]}}})["hits"]["hits"]
        return dict(hits[0]["_source"]) if hits else None

    def close(self) -> None:
        if self._bulk_pool is not None:
            self._bulk_pool.shutdown(wait=True)
            self._bulk_pool = None
        super().close()

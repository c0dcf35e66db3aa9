"""The engine logic shared by both adapters. An adapter only maps a handful
of REST calls onto its client and translates the client's exceptions into
``EngineError``; index layout, bulk bookkeeping and queries live here."""
from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import structlog

from indexer import mapping
from ingest.engines.client import VendorClient
from ingest.engines.errors import EngineError, error_reason, is_retryable_status
from indexer.engines.base import BulkOutcome, ItemResult
from indexer.engines.lifecycle_calls import LifecycleCalls

log = structlog.get_logger(__name__)

# Both engines refuse requests over http.max_content_length (100 MB by default);
# smaller requests also keep one slow bulk from holding a batch for long.
DEFAULT_BULK_MAX_BYTES = 16 * 1024 * 1024


def _chunks(docs: Sequence[dict[str, Any]], max_bytes: int) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    size = 0
    for doc in docs:
        doc_bytes = len(json.dumps(doc, ensure_ascii=False).encode("utf-8")) + 64
        if chunk and size + doc_bytes > max_bytes:
            yield chunk
            chunk, size = [], 0
        chunk.append(doc)
        size += doc_bytes
    if chunk:
        yield chunk


def _blocked(outcome: dict[str, Any]) -> bool:
    # A write block (a migration blocks the old indices, a full disk blocks
    # all) is temporary for the document: a retry is routed anew or waits.
    return (outcome.get("error") or {}).get("type") == "cluster_block_exception"


class ClientEngine(LifecycleCalls, VendorClient):
    """A ``SearchEngine`` on top of a vendor client (mixed in by each adapter)."""

    def __init__(
        self,
        url: str,
        info: dict[str, Any],
        *,
        username: str | None = None,
        password: str | None = None,
        timeout_s: float = 60.0,
        bulk_max_bytes: int = DEFAULT_BULK_MAX_BYTES,
    ) -> None:
        super().__init__(url, info, username=username, password=password, timeout_s=timeout_s)
        self._bulk_max_bytes = bulk_max_bytes
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
        self, alias: str, docs: Sequence[dict[str, Any]], targets: Mapping[str, str] | None = None
    ) -> BulkOutcome:
        items: list[ItemResult] = []
        for chunk in _chunks(docs, self._bulk_max_bytes):
            items.extend(self._bulk_chunk(alias, chunk, targets or {}))
        return BulkOutcome(items=items)

    def _bulk_chunk(self, alias: str, chunk: list[dict[str, Any]], targets: Mapping[str, str]) -> list[ItemResult]:
        operations: list[dict[str, Any]] = []
        for doc in chunk:
            # "index", not "create": a replayed message overwrites its document.
            operations.append({"index": {"_index": targets.get(doc["id"], alias), "_id": doc["id"]}})
            operations.append(doc)
        try:
            response = self.bulk_raw(operations)
        except EngineError as exc:
            if not exc.retryable and len(chunk) > 1:
                # The engine refused the request as a whole: one document is
                # the cause, so find it instead of failing the others.
                return [item for doc in chunk for item in self._bulk_chunk(alias, [doc], targets)]
            return [ItemResult(doc["id"], False, exc.status, str(exc), exc.retryable) for doc in chunk]
        results: list[ItemResult] = []
        for doc, entry in zip(chunk, response.get("items", []), strict=True):
            outcome = next(iter(entry.values()))
            status = outcome.get("status")
            if "error" in outcome or not (isinstance(status, int) and 200 <= status < 300):
                results.append(
                    ItemResult(doc["id"], False, status, error_reason(outcome.get("error")),
                               is_retryable_status(status) or _blocked(outcome))
                )
            else:
                results.append(ItemResult(doc["id"], True, status))
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

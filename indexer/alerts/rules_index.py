"""The rules index: the compiled rules as percolator documents, synced from
the rules file.

The rules live in a concrete index named after a hash of the rules index
body (analysis + mappings), behind the alias ``settings.rules_index`` that
the indexer percolates against. When the analysis changes (another engine
build, a new filter), the next sync writes every rule into a new concrete
index and moves the alias in one atomic step: percolation never sees a
half-filled rules index. Writes wait for a refresh, so the next percolation
after a sync sees the new rules without restarting any worker.
"""
from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import structlog
from pydantic import BaseModel, Field

from indexer import mapping
from indexer.alerts.compile import compile_rule
from indexer.alerts.rules import RulesFile
from indexer.engines.common import ClientEngine
from ingest.engines.client import VendorClient
from ingest.engines.errors import EngineError
from ingest.settings import Settings

log = structlog.get_logger(__name__)

GENERATION_HASH_CHARS = 10
PAGE_SIZE = 1000


class PercolatorUnavailable(RuntimeError):
    """The engine has no percolator field type (e.g. an Elasticsearch build
    without the percolator module)."""


class SyncReport(BaseModel):
    index: str
    created: list[str] = Field(default_factory=list)
    updated: list[str] = Field(default_factory=list)
    unchanged: list[str] = Field(default_factory=list)
    deleted: list[str] = Field(default_factory=list)
    # The alias moved to a new concrete index (first sync or new analysis).
    alias_moved: bool = False
    removed_indices: list[str] = Field(default_factory=list)


def generation_index(alias: str, body: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode("utf-8")).hexdigest()
    return f"{alias}-{digest[:GENERATION_HASH_CHARS]}"


def is_generation_index(alias: str, name: str) -> bool:
    """Named like a generation of ``alias`` (scratch indices of ``rasd rules
    test`` are not)."""
    return re.fullmatch(re.escape(alias) + rf"-[0-9a-f]{{{GENERATION_HASH_CHARS}}}", name) is not None


def _alias_targets(client: VendorClient, alias: str) -> list[str]:
    try:
        found = client.get_alias(alias)
    except EngineError as exc:
        if exc.status == 404:
            return []
        raise
    return sorted(found)


def _create_generation(client: VendorClient, name: str, body: dict[str, Any]) -> None:
    try:
        client.create_index(name, body)
        log.info("rules_index_created", index=name)
    except EngineError as exc:
        if exc.error_type == "resource_already_exists_exception":
            return
        if exc.error_type == "mapper_parsing_exception" and "percolator" in str(exc):
            raise PercolatorUnavailable(
                f"the search engine at {client.url} has no percolator field type ({exc}); "
                "alert rules need OpenSearch or an Elasticsearch with the percolator module"
            ) from exc
        raise


def _stored(client: VendorClient, index: str) -> dict[str, dict[str, Any]]:
    """name -> stored ``rule`` object, read page by page (sorted on name)."""
    stored: dict[str, dict[str, Any]] = {}
    after: list[Any] | None = None
    while True:
        body: dict[str, Any] = {
            "size": PAGE_SIZE,
            "query": {"match_all": {}},
            "_source": ["rule"],
            "sort": [{"rule.name": "asc"}],
        }
        if after is not None:
            body["search_after"] = after
        hits = client.search_raw(index, body)["hits"]["hits"]
        for hit in hits:
            stored[hit["_id"]] = hit.get("_source", {}).get("rule", {})
        if len(hits) < PAGE_SIZE:
            return stored
        after = hits[-1]["sort"]


def list_stored_rules(client: VendorClient, settings: Settings) -> list[dict[str, Any]]:
    """The ``rule`` objects behind the rules alias, by name ([] before the
    first sync)."""
    if not _alias_targets(client, settings.rules_index):
        return []
    return list(_stored(client, settings.rules_index).values())


def _leftover_generations(client: VendorClient, alias: str, keep: str) -> list[str]:
    """Older generations still holding rules (e.g. a sync interrupted
    between creating an index and moving the alias)."""
    body = {"size": 0, "aggs": {"indices": {"terms": {"field": "_index", "size": 100}}}}
    try:
        buckets = client.search_raw(f"{alias}-*", body)["aggregations"]["indices"]["buckets"]
    except EngineError as exc:
        if exc.status == 404:
            return []
        raise
    return [b["key"] for b in buckets if b["key"] != keep and is_generation_index(alias, b["key"])]


def sync_rules(client: ClientEngine, settings: Settings, rules_file: RulesFile) -> SyncReport:
    """Make the rules index hold exactly the enabled rules of ``rules_file``.
    Idempotent; an unchanged rule (same hash) is not rewritten. ``client``
    is an indexer engine: the rules index gets the analysis its
    ``available_filters()`` allow, like the articles index."""
    alias = settings.rules_index
    body = mapping.rules_index_body(client.available_filters())
    target = generation_index(alias, body)
    # Compiled first: a rule over the clause limit stops the sync before any write.
    documents = {r.name: compile_rule(r, rules_file.channels) for r in rules_file.rules if r.enabled}

    live_indices = _alias_targets(client, alias)
    live = _stored(client, alias) if live_indices else {}
    _create_generation(client, target, body)
    in_target = live if live_indices == [target] else _stored(client, target)

    operations: list[dict[str, Any]] = []
    for name, doc in documents.items():
        if in_target.get(name, {}).get("hash") != doc["rule"]["hash"]:
            operations += [{"index": {"_index": target, "_id": name}}, doc]
    for name in in_target.keys() - documents.keys():
        operations.append({"delete": {"_index": target, "_id": name}})
    if operations:
        _bulk(client, operations)

    report = SyncReport(index=target)
    for name, doc in documents.items():
        before = live.get(name)
        if before is None:
            report.created.append(name)
        elif before.get("hash") != doc["rule"]["hash"]:
            report.updated.append(name)
        else:
            report.unchanged.append(name)
    report.deleted = sorted(live.keys() - documents.keys())

    if live_indices != [target]:
        actions: list[dict[str, Any]] = [{"remove": {"index": old, "alias": alias}} for old in live_indices]
        actions.append({"add": {"index": target, "alias": alias}})
        client.update_aliases(actions)
        report.alias_moved = True
        log.info("rules_alias_moved", alias=alias, index=target, previous=live_indices)
    stale = sorted(set(live_indices) - {target}) + _leftover_generations(client, alias, target)
    for old in dict.fromkeys(stale):
        if is_generation_index(alias, old):
            client.delete_index(old)
            report.removed_indices.append(old)
    log.info(
        "rules_synced",
        index=target,
        created=len(report.created),
        updated=len(report.updated),
        unchanged=len(report.unchanged),
        deleted=len(report.deleted),
    )
    return report


def _bulk(client: VendorClient, operations: list[dict[str, Any]]) -> None:
    # wait_for: the next percolation after the sync sees these rules.
    response = client.bulk_raw(operations, refresh="wait_for")
    failures = [
        f"{item.get('_id')}: {item.get('error')}"
        for entry in response.get("items", [])
        for item in entry.values()
        if item.get("error") and not (item.get("status") == 404 and "delete" in entry)
    ]
    if failures:
        raise EngineError(f"rules index write failed: {failures[:5]}", status=None, retryable=False)

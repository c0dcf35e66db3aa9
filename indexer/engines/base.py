"""What the indexer needs from a search engine, whatever its vendor.

Elasticsearch and OpenSearch speak almost the same REST API but need
different Python clients (each refuses the other's server), so each gets a
thin adapter behind this interface; everything above it is shared.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from indexer.bulk import BulkLimits
from ingest.engines.errors import EngineError, EngineUnavailable, is_retryable_status


__all__ = [
    "EngineError", "EngineUnavailable", "is_retryable_status", "ItemResult", "BulkOutcome", "SearchEngine", "LifecycleEngine",
]


@dataclass(frozen=True)
class ItemResult:
    """The engine's verdict on one document of a bulk request."""

    id: str
    ok: bool
    status: int | None
    reason: str | None = None
    retryable: bool = False


@dataclass
class BulkOutcome:
    items: list[ItemResult] = field(default_factory=list)

    @property
    def succeeded(self) -> list[ItemResult]:
        return [i for i in self.items if i.ok]

    @property
    def retryable(self) -> list[ItemResult]:
        return [i for i in self.items if not i.ok and i.retryable]

    @property
    def rejected(self) -> list[ItemResult]:
        return [i for i in self.items if not i.ok and not i.retryable]


@runtime_checkable
class SearchEngine(Protocol):
    distribution: str  # "elasticsearch" | "opensearch"
    version: str

    def has_arabic_analysis(self) -> bool:
        """True when the engine has the `arabic` analyzer and its filters."""
        ...

    def ensure_index(self, alias: str, lifecycle_settings: Mapping[str, Any] | None = None) -> str:
        """Install or update the articles index template (with the lifecycle
        policy's index settings, if any) and create the current generation's
        first index as write index behind ``alias`` if nothing is behind it
        yet. Idempotent. Returns the concrete write index."""
        ...

    def bulk_index(
        self,
        alias: str,
        docs: Sequence[dict[str, Any]],
        *,
        limits: BulkLimits | None = None,
        targets: Mapping[str, str] | None = None,
    ) -> BulkOutcome:
        """Index (create or overwrite) ``docs`` by their ``id``, each into
        ``targets[id]`` (a concrete index) if given, else into ``alias``, in
        requests within ``limits`` (default: the engine's). Never raises for
        engine-side failures: they are reported per document, in order."""
        ...

    def refresh(self, alias: str) -> None: ...

    def search(self, alias: str, query_text: str, size: int = 10) -> list[dict[str, Any]]:
        """Full-text search over title and body (stemmed and normalized)."""
        ...

    def count(self, alias: str) -> int: ...

    def get(self, alias: str, id: str) -> dict[str, Any] | None:
        """The stored document with this id, or None."""
        ...

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
        """Tokens the engine produces for ``text``."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class LifecycleEngine(SearchEngine, Protocol):
    """The calls index lifecycle (rollover, retention, migration, routing of
    updates to the index that holds the document) makes besides indexing."""

    def lifecycle_kind(self) -> str | None:
        """"ilm" or "ism" when the engine manages index lifecycles itself, else None."""
        ...

    def put_lifecycle_policy(self, name: str, body: dict[str, Any]) -> None: ...

    def alias_members(self, alias: str) -> list[Any]:
        """``AliasMember``s: the concrete indices behind ``alias``."""
        ...

    def rollover(self, alias: str, new_index: str, conditions: Mapping[str, Any]) -> dict[str, Any]: ...

    def block_writes(self, index: str) -> None: ...

    def find_docs(self, indices: Any, ids: Any) -> dict[str, list[str]]:
        """id -> the indices (of ``indices``) holding it, realtime."""
        ...

    def start_reindex(self, body: Mapping[str, Any]) -> str: ...

    def task(self, task_id: str) -> dict[str, Any]: ...

    def scroll_pages(self, indices: list[str], size: int = 500) -> Any: ...

    def bulk_raw(self, operations: list[dict[str, Any]], refresh: str | None = None) -> dict[str, Any]: ...

    def newest_write_ms(self, index: str) -> int | None: ...

    def create_index(self, name: str, body: dict[str, Any]) -> None: ...

    def index_exists(self, name: str) -> bool: ...

    def delete_index(self, name: str) -> None: ...

    def refresh_index(self, index: str) -> None: ...

    def update_aliases(self, actions: list[dict[str, Any]]) -> None: ...

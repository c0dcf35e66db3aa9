"""Index lifecycle of the articles: setup, rollover and retention.

``setup_index`` (``rasd index setup``, and the indexer at start) installs the
current generation's template, a lifecycle policy and the write alias. Where
the engine has its own lifecycle management (ILM on Elasticsearch, ISM on
OpenSearch) the policy does the rollover and the deletes. Where it has none
(builds without x-pack or the index-management plugin), the indexer does the
same job itself: at start and every ``index_lifecycle_interval_s`` it calls
the engine's ``_rollover`` API on the write alias with the policy's
conditions (the engine evaluates them), and deletes rollover indices not
written for ``index_retention_days``.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import structlog

from ingest.engines.errors import EngineError
from ingest.settings import Settings
from indexer import mapping, policies
from indexer.engines.base import LifecycleEngine

log = structlog.get_logger(__name__)


def migration_marker(alias: str) -> str:
    """An alias a running migration puts on its target index: rollover and
    retention wait while it exists, and routing sends updates of documents
    in older generations to the new write index."""
    return f"{alias}-migrating"


@dataclass(frozen=True)
class Setup:
    write_index: str
    # "ilm" / "ism": the engine manages the lifecycle; None: the indexer does.
    managed_by_engine: str | None


def setup_index(engine: LifecycleEngine, settings: Settings) -> Setup:
    """Template, lifecycle policy and write alias (idempotent)."""
    alias = settings.articles_alias
    kind = engine.lifecycle_kind() if settings.index_lifecycle == "auto" else None
    index_settings = None
    if kind == "ilm":
        engine.put_lifecycle_policy(policies.policy_name(alias), policies.ilm_policy(settings))
        index_settings = policies.ilm_index_settings(settings)
    elif kind == "ism":
        engine.put_lifecycle_policy(policies.policy_name(alias), policies.ism_policy(settings))
        index_settings = policies.ism_index_settings(settings)
    write_index = engine.ensure_index(alias, index_settings)
    generation = (mapping.parse_index(alias, write_index) or (0, 0))[0]
    if generation < mapping.TEMPLATE_VERSION:
        log.warning("index_generation_outdated", alias=alias, write_index=write_index,
                    current=mapping.TEMPLATE_VERSION, hint="run `rasd index migrate`")
    log.info("index_setup", alias=alias, write_index=write_index, lifecycle=kind or "indexer",
             conditions=policies.rollover_conditions(settings), retention=policies.retention_age(settings))
    return Setup(write_index, kind)


def next_index(alias: str, write_index: str) -> str:
    """The rollover target: the next number in the current generation (an
    older generation's write index rolls over into the current one, so new
    indices always get the current analysis)."""
    parsed = mapping.parse_index(alias, write_index)
    if parsed is None or parsed[0] != mapping.TEMPLATE_VERSION:
        return mapping.first_index(alias)
    return mapping.index_name(alias, parsed[0], parsed[1] + 1)


def roll_over(engine: LifecycleEngine, settings: Settings) -> str | None:
    """One ``_rollover`` on the write alias with the settings' conditions;
    the new write index if the engine rolled over."""
    alias = settings.articles_alias
    conditions = policies.rollover_conditions(settings)
    members = engine.alias_members(alias)
    write = next((m for m in members if m.is_write), None)
    if not conditions or write is None or any(migration_marker(alias) in m.aliases for m in members):
        return None
    # The engine counts only searchable documents for max_docs.
    engine.refresh_index(write.index)
    try:
        response = engine.rollover(alias, next_index(alias, write.index), conditions)
    except EngineError as exc:
        # Another indexer rolled over first: its new index is the write index now.
        if exc.error_type == "resource_already_exists_exception":
            return None
        raise
    if not response.get("rolled_over"):
        return None
    log.info("index_rolled_over", alias=alias, old_index=response.get("old_index"),
             new_index=response.get("new_index"), conditions=response.get("conditions"))
    return str(response["new_index"])


def expire(engine: LifecycleEngine, settings: Settings, now_ms: int | None = None) -> list[str]:
    """Delete rollover indices (never the write index) whose last write is
    older than the retention; returns the deleted names."""
    if settings.index_retention_days is None:
        return []
    alias = settings.articles_alias
    members = engine.alias_members(alias)
    if any(migration_marker(alias) in m.aliases for m in members):
        return []
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    cutoff = now_ms - settings.index_retention_days * 86_400_000
    deleted = []
    for member in members:
        if member.is_write or mapping.parse_index(alias, member.index) is None:
            continue
        newest = engine.newest_write_ms(member.index)
        if newest is not None and newest < cutoff:
            engine.delete_index(member.index)
            log.info("index_expired", alias=alias, index=member.index, last_write_ms=newest)
            deleted.append(member.index)
    return deleted


def tick(engine: LifecycleEngine, settings: Settings) -> None:
    roll_over(engine, settings)
    expire(engine, settings)


class IndexLifecycle:
    """The indexer's side of the lifecycle: setup at start, then (only where
    the engine manages nothing) rollover and retention checks in a thread."""

    def __init__(self, engine: LifecycleEngine, settings: Settings) -> None:
        self._engine = engine
        self._settings = settings
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.write_index = ""

    @classmethod
    def start(cls, settings: Settings, engine: LifecycleEngine) -> "IndexLifecycle":
        lifecycle = cls(engine, settings)
        setup = setup_index(engine, settings)
        lifecycle.write_index = setup.write_index
        if setup.managed_by_engine is None:
            lifecycle._tick()
            lifecycle._thread = threading.Thread(target=lifecycle._run, name="rasd-index-lifecycle", daemon=True)
            lifecycle._thread.start()
        return lifecycle

    def _run(self) -> None:
        while not self._stop.wait(self._settings.index_lifecycle_interval_s):
            self._tick()

    def _tick(self) -> None:
        try:
            tick(self._engine, self._settings)
        except EngineError as exc:
            # Indexing goes on; the next check tries again.
            log.warning("index_lifecycle_failed", alias=self._settings.articles_alias, error=str(exc))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

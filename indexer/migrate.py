"""``rasd index migrate``: move the articles to the current template
generation without losing a write that arrives meanwhile.

The order is what keeps every write:
1. the current generation's write index is created and the write alias moved
   there first, with a marker alias that pauses rollover and tells routing to
   send updates of old documents to the new index;
2. writes to the old indices are blocked; the block returns once writes in
   flight are done, and a writer that routed to an old index before it saw
   the move is refused and retries (re-routed to the new index);
3. the old generations are reindexed into the new index with op_type create
   and conflicts proceed: a document written to the new index meanwhile is
   newer than its old copy and is never overwritten by it;
4. the old indices leave the read alias (deleted, or kept with --keep-old),
   and the marker goes, in one atomic alias update.
Run again after a failure, it resumes where it stopped.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import structlog

from ingest.engines.errors import EngineError
from ingest.settings import Settings
from indexer import mapping
from indexer.engines.base import LifecycleEngine
from indexer.lifecycle import migration_marker, setup_index

log = structlog.get_logger(__name__)


@dataclass
class MigrationReport:
    write_index: str
    old_indices: list[str] = field(default_factory=list)
    copied: int = 0
    # old copies skipped because the new index already had a newer write
    newer_kept: int = 0
    deleted: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def _generation(alias: str, index: str) -> int:
    return (mapping.parse_index(alias, index) or (0, 0))[0]


def migrate(
    engine: LifecycleEngine, settings: Settings, *, keep_old: bool = False, poll_s: float = 0.5
) -> MigrationReport:
    alias = settings.articles_alias
    marker = migration_marker(alias)
    setup_index(engine, settings)
    members = engine.alias_members(alias)
    old = [m.index for m in members if _generation(alias, m.index) < mapping.TEMPLATE_VERSION]
    write = next(m.index for m in members if m.is_write)
    if not old:
        _finish(engine, alias, [], write, keep_old)
        return MigrationReport(write_index=write)

    target = write if _generation(alias, write) == mapping.TEMPLATE_VERSION else mapping.first_index(alias)
    if target != write:
        if not engine.index_exists(target):
            engine.create_index(target, {"aliases": {marker: {}}})
        # 1. new writes land in the new generation from here on
        engine.update_aliases([
            {"add": {"index": write, "alias": alias, "is_write_index": False}},
            {"add": {"index": target, "alias": alias, "is_write_index": True}},
            {"add": {"index": target, "alias": marker}},
        ])
    else:
        engine.update_aliases([{"add": {"index": target, "alias": marker}}])
    log.info("migration_started", alias=alias, target=target, old=old)

    # 2. nothing more lands in the old indices
    for index in old:
        engine.block_writes(index)
    # 3. copy what is there (refresh: the reindex reads only searchable docs)
    engine.refresh_index(",".join(old))
    status = _reindex(engine, old, target, poll_s)
    report = MigrationReport(
        write_index=target,
        old_indices=old,
        copied=int(status.get("created", 0)),
        newer_kept=int(status.get("version_conflicts", 0)),
    )
    # 4. the old generations leave the read alias
    _finish(engine, alias, old, target, keep_old)
    (report.kept if keep_old else report.deleted).extend(old)
    log.info("migration_done", alias=alias, **report.__dict__)
    return report


def _reindex(engine: LifecycleEngine, sources: list[str], target: str, poll_s: float) -> dict[str, Any]:
    try:
        task_id = engine.start_reindex({
            "source": {"index": sources},
            "dest": {"index": target, "op_type": "create"},
            "conflicts": "proceed",
        })
    except EngineError as exc:
        # Builds without the reindex module (the local Elasticsearch) answer
        # 4xx for _reindex: copy through the client with the same semantics.
        if exc.retryable:
            raise
        log.info("reindex_unavailable_copying_by_scroll", target=target, error=str(exc))
        return copy_by_scroll(engine, sources, target)
    while True:
        task = engine.task(task_id)
        if task.get("completed"):
            break
        time.sleep(poll_s)  # the engine offers no push notification for a task
    if task.get("error"):
        raise EngineError(f"reindex into {target} failed: {task['error']}", status=None, retryable=False)
    response = task.get("response", {})
    # Conflicts are expected (newer writes win); any other failure is not.
    failures = [f for f in response.get("failures", []) if f.get("status") != 409]
    if failures:
        raise EngineError(f"reindex into {target} failed for some documents: {failures[:3]}",
                          status=None, retryable=False)
    return response


def _finish(engine: LifecycleEngine, alias: str, old: list[str], target: str, keep_old: bool) -> None:
    marker = migration_marker(alias)
    actions: list[dict[str, Any]] = []
    for index in old:
        # remove_index deletes atomically with the alias change
        actions.append({"remove": {"index": index, "alias": alias}} if keep_old else {"remove_index": {"index": index}})
    if any(marker in m.aliases for m in engine.alias_members(alias)):
        actions.append({"remove": {"index": target, "alias": marker}})
    if actions:
        engine.update_aliases(actions)


def copy_by_scroll(engine: LifecycleEngine, sources: list[str], target: str) -> dict[str, Any]:
    """``_reindex`` with op_type create and conflicts proceed, done by the
    client: one scroll over ``sources``, bulk ``create`` into ``target``."""
    created = conflicts = 0
    for hits in engine.scroll_pages(sources):
        operations: list[dict[str, Any]] = []
        for hit in hits:
            operations += [{"create": {"_index": target, "_id": hit["_id"]}}, hit["_source"]]
        for item in engine.bulk_raw(operations, refresh="true")["items"]:
            status = item["create"].get("status", 0)
            if status == 409:
                conflicts += 1  # a newer write is already there
            elif 200 <= status < 300:
                created += 1
            else:
                raise EngineError(f"copy into {target} failed: {item['create'].get('error')}",
                                  status=status, retryable=status == 429 or status >= 500)
    return {"created": created, "version_conflicts": conflicts}

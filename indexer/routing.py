"""Where each article's document goes: one article is one document for ever.

Behind the read alias there are several rollover indices; writing through
the alias would put an update of an article indexed before the last rollover
into the new write index, a second copy. So before each bulk the indexer asks
the engine which index already holds each id and writes there.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from indexer import mapping
from indexer.engines.base import LifecycleEngine
from indexer.engines.lifecycle_calls import AliasMember
from indexer.lifecycle import migration_marker


def _age(alias: str, index: str) -> tuple[int, int]:
    return mapping.parse_index(alias, index) or (0, 0)


def choose_targets(alias: str, members: Sequence[AliasMember], found: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """id -> concrete index for the ids found (``found``: id -> indices
    holding it); ids left out go to the write alias.

    The newest index holding an id wins (a copy left by an older bug or
    migration must not receive the update). During a migration, ids found
    only in an older generation go to the new write index: the migration
    copies old documents with op_type create, so this newer write wins."""
    write = next((m.index for m in members if m.is_write), None)
    if write is None:
        return {}
    write_generation = _age(alias, write)[0]
    migrating = any(migration_marker(alias) in m.aliases for m in members)
    targets: dict[str, str] = {}
    for id, indices in found.items():
        newest = max(indices, key=lambda index: _age(alias, index))
        if newest == write or (migrating and _age(alias, newest)[0] < write_generation):
            continue
        targets[id] = newest
    return targets


def route(engine: LifecycleEngine, alias: str, docs: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Targets for ``docs`` (by their ``id``): one alias lookup and, when the
    alias spans several indices, one realtime ``_mget`` over them (a search
    would miss documents written within the last refresh interval)."""
    members: list[AliasMember] = engine.alias_members(alias)
    if len(members) < 2 or not docs:
        return {}
    found = engine.find_docs([m.index for m in members], [doc["id"] for doc in docs])
    return choose_targets(alias, members, found)

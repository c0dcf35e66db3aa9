"""The REST calls of index lifecycle (aliases, rollover, blocks, reindex),
mixed into ``ClientEngine``. Both vendors' clients name these the same; the
engine's own lifecycle plugin (ILM, ISM) differs and is in each adapter."""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ingest.engines.errors import EngineError


@dataclass(frozen=True)
class AliasMember:
    """One concrete index behind an alias."""

    index: str
    is_write: bool
    # every alias the index carries (the migration marks its target with one)
    aliases: frozenset[str]


class LifecycleCalls:
    # provided by the vendor client (annotations only: nothing is shadowed)
    _client: Any
    _call: Any

    def alias_members(self, alias: str) -> list[AliasMember]:
        """The indices behind ``alias`` (empty if there is no such alias)."""
        try:
            found = self._call(self._client.indices.get_alias, index=alias)
        except EngineError as exc:
            if exc.status == 404:
                return []
            raise
        members = []
        for index, entry in found.items():
            aliases = entry.get("aliases", {})
            if alias not in aliases and alias != index:
                continue
            # A lone index is the write index even without the flag.
            is_write = bool(aliases.get(alias, {}).get("is_write_index", len(found) == 1))
            members.append(AliasMember(index, is_write, frozenset(aliases)))
        return sorted(members, key=lambda m: m.index)

    def rollover(self, alias: str, new_index: str, conditions: Mapping[str, Any]) -> dict[str, Any]:
        """``POST <alias>/_rollover/<new_index>``: the engine evaluates the
        conditions against the write index and rolls over if one is met."""
        return self._call(
            self._client.indices.rollover, alias=alias, new_index=new_index, body={"conditions": dict(conditions)}
        )

    def block_writes(self, index: str) -> None:
        """``PUT <index>/_block/write``: returns once writes in flight to the
        index are done; later writes are refused."""
        self._call(self._client.indices.add_block, index=index, block="write")

    def find_docs(self, indices: Iterable[str], ids: Iterable[str]) -> dict[str, list[str]]:
        """Which of ``indices`` hold each of ``ids``: one realtime ``_mget``
        (it sees writes not yet refreshed, which a search would miss)."""
        docs = [{"_index": index, "_id": id, "_source": False} for index in indices for id in ids]
        if not docs:
            return {}
        found: dict[str, list[str]] = {}
        for doc in self._call(self._client.mget, body={"docs": docs})["docs"]:
            if doc.get("found"):
                found.setdefault(doc["_id"], []).append(doc["_index"])
        return found

    def start_reindex(self, body: Mapping[str, Any]) -> str:
        """Start ``_reindex`` as a task (a large copy outlasts any request
        timeout); returns the task id."""
        return str(self._call(self._client.reindex, body=dict(body), wait_for_completion=False, refresh=True)["task"])

    def scroll_pages(self, indices: list[str], size: int = 500) -> Iterator[list[dict[str, Any]]]:
        """Every document of ``indices`` (with ``_source``), a page at a time,
        from one scroll snapshot (for engines without the reindex module)."""
        page = self._call(self._client.search, index=",".join(indices), scroll="5m",
                          body={"size": size, "sort": ["_doc"]})
        scroll_id = page.get("_scroll_id")
        try:
            while page["hits"]["hits"]:
                yield page["hits"]["hits"]
                page = self._call(self._client.scroll, scroll_id=scroll_id, scroll="5m")
                scroll_id = page.get("_scroll_id", scroll_id)
        finally:
            if scroll_id:
                self._call(self._client.clear_scroll, scroll_id=scroll_id)

    def task(self, task_id: str) -> dict[str, Any]:
        return self._call(self._client.tasks.get, task_id=task_id)

    def newest_write_ms(self, index: str) -> int | None:
        """When ``index`` was last written: its newest ``indexed_at``, else its
        creation date (an empty index)."""
        body = {"size": 0, "aggs": {"newest": {"max": {"field": "indexed_at"}}}}
        newest = self._call(self._client.search, index=index, body=body)["aggregations"]["newest"]["value"]
        if newest is not None:
            return int(newest)
        found = self._call(self._client.indices.get_settings, index=index, name="index.creation_date")
        created = found.get(index, {}).get("settings", {}).get("index", {}).get("creation_date")
        return int(created) if created is not None else None

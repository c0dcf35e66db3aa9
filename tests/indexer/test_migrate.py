"""`rasd index migrate` on both real engines, with writes arriving while it runs."""
from __future__ import annotations

import threading

import pytest

from indexer import mapping
from indexer.documents import to_document
from indexer.engines.base import ItemResult
from indexer.migrate import migrate
from indexer.routing import route
from tests.indexer.support import T0, make_article

pytestmark = pytest.mark.services


def _create_generation_1(engine, alias: str) -> str:
    """An index as the first landing made it: ``<alias>-000001`` behind the alias."""
    legacy = f"{alias}-000001"
    template = mapping.index_template(alias, engine.available_filters())["template"]
    engine.create_index(legacy, {**template, "aliases": {alias: {"is_write_index": True}}})
    return legacy


class _Writer(threading.Thread):
    """Writes as the indexer does (routed, retried on retryable items) until
    stopped: updates of existing articles and new ones. ``expected`` holds
    the title each written article must end with."""

    def __init__(self, engine, alias: str, existing: int) -> None:
        super().__init__(daemon=True)
        self.engine, self.alias, self.existing = engine, alias, existing
        self.expected: dict[str, str] = {}
        self.rounds = 0
        self.rejected: list[ItemResult] = []
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                self._round(self.rounds)
                self.rounds += 1
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc

    def _round(self, r: int) -> None:
        numbers = [(r * 7 + k * 13) % self.existing for k in range(20)] + [10_000 + r * 5 + k for k in range(5)]
        docs = [to_document(make_article(n, title=f"round {r} of {n}"), T0) for n in dict.fromkeys(numbers)]
        pending = docs
        while pending:
            outcome = self.engine.bulk_index(self.alias, pending, targets=route(self.engine, self.alias, pending))
            self.rejected += outcome.rejected
            retry = {i.id for i in outcome.retryable}
            pending = [d for d in pending if d["id"] in retry]
        for doc in docs:
            self.expected[doc["id"]] = doc["title"]


def test_migrate_moves_every_document_to_the_current_generation_and_keeps_concurrent_writes(engine, settings):
    alias = settings.articles_alias
    legacy = _create_generation_1(engine, alias)
    existing = 2000
    originals = [to_document(make_article(n), T0) for n in range(existing)]
    for start in range(0, existing, 500):
        assert engine.bulk_index(alias, originals[start:start + 500]).rejected == []
    writer = _Writer(engine, alias, existing)
    writer.start()
    try:
        while writer.rounds < 2 and writer.error is None:
            writer.stop.wait(0.01)  # writes are flowing before the migration starts
        rounds_before = writer.rounds
        report = migrate(engine, settings, poll_s=0.05)
        rounds_during = writer.rounds - rounds_before
        target = writer.rounds + 2
        while writer.rounds < target and writer.error is None:
            writer.stop.wait(0.01)  # and after it ends
    finally:
        writer.stop.set()
        writer.join()
    assert writer.error is None and writer.rejected == []
    assert rounds_during >= 1
    assert report.old_indices == report.deleted == [legacy]
    assert report.write_index == mapping.first_index(alias)
    assert [m.index for m in engine.alias_members(alias)] == [report.write_index]
    assert not engine.index_exists(legacy)
    engine.refresh(alias)
    expected = {doc["id"]: doc["title"] for doc in originals} | writer.expected
    assert engine.count(alias) == len(expected)
    stored = {}
    for start in range(0, len(expected), 1000):
        ids = list(expected)[start:start + 1000]
        body = {"size": 1000, "query": {"ids": {"values": ids}}, "_source": ["title"]}
        stored |= {h["_id"]: h["_source"]["title"] for h in engine.search_raw(alias, body)["hits"]["hits"]}
    assert stored == expected


def test_migrate_with_keep_old_takes_old_indices_out_of_the_alias_and_a_second_run_does_nothing(engine, settings):
    alias = settings.articles_alias
    legacy = _create_generation_1(engine, alias)
    assert engine.bulk_index(alias, [to_document(make_article(n), T0) for n in range(10)]).rejected == []
    report = migrate(engine, settings, keep_old=True, poll_s=0.05)
    try:
        assert report.kept == [legacy] and report.copied == 10 and report.deleted == []
        assert engine.index_exists(legacy)
        assert [m.index for m in engine.alias_members(alias)] == [mapping.first_index(alias)]
        again = migrate(engine, settings, poll_s=0.05)
        assert again.old_indices == [] and again.write_index == mapping.first_index(alias)
        engine.refresh(alias)
        assert engine.count(alias) == 10
    finally:
        engine.delete_index(legacy)


def test_copy_by_scroll_creates_missing_documents_and_never_overwrites_newer_ones(engine, settings):
    from indexer.migrate import copy_by_scroll

    source, target = f"{settings.articles_alias}-v1-000001", f"{settings.articles_alias}-v2-000001"
    engine.create_index(source, {"aliases": {settings.articles_alias: {}}})
    engine.create_index(target, {"aliases": {settings.articles_alias: {"is_write_index": True}}})
    engine.bulk_index(source, [to_document(make_article(n, title="old"), T0) for n in range(1200)])
    engine.bulk_index(target, [to_document(make_article(3, title="new"), T0)])
    engine.refresh_index(source)
    assert copy_by_scroll(engine, [source], target) == {"created": 1199, "version_conflicts": 1}
    engine.refresh(settings.articles_alias)
    assert engine.count_raw(target)["count"] == 1200
    assert engine.get_raw(target, make_article(3).id)["_source"]["title"] == "new"

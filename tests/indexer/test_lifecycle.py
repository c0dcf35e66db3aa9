"""Index setup, rollover and retention on both real engines (the local
builds have neither ILM nor ISM: the indexer's own rollover runs)."""
from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest

from indexer import mapping
from indexer.documents import to_document
from indexer.lifecycle import expire, migration_marker, next_index, roll_over, setup_index
from indexer.worker import run_indexer
from tests.indexer.support import T0, make_article, publish_articles

TINY = {"index_rollover_max_size": None, "index_rollover_max_age": None, "index_rollover_max_docs": 100}


def _docs(numbers, indexed_at=T0, **overrides):
    return [to_document(make_article(n, **overrides), indexed_at) for n in numbers]


def _index_all(engine, alias, docs):
    outcome = engine.bulk_index(alias, docs)
    assert outcome.rejected == [] and outcome.retryable == []


def test_next_index_continues_the_current_generation_and_leaves_older_ones():
    assert next_index("news", "news-v2-000007") == "news-v2-000008"
    assert next_index("news", "news-000003") == "news-v2-000001"
    assert next_index("news", "news-v1-000003") == "news-v2-000001"


@pytest.mark.services
def test_setup_is_idempotent_and_falls_back_to_the_indexer_where_the_engine_has_no_ilm_or_ism(engine, settings):
    first = setup_index(engine, settings)
    again = setup_index(engine, settings)
    assert first == again
    assert first.write_index == mapping.first_index(settings.articles_alias)
    # The test stack's engines are the minimal builds: no x-pack, no index-management plugin.
    assert first.managed_by_engine is None and engine.lifecycle_kind() is None
    assert [m.index for m in engine.alias_members(settings.articles_alias)] == [first.write_index]


@pytest.mark.services
def test_rollover_happens_only_once_a_condition_is_met_and_the_old_index_stays_readable(engine, settings):
    settings = settings.model_copy(update=TINY)
    alias = settings.articles_alias
    first = setup_index(engine, settings).write_index
    _index_all(engine, alias, _docs(range(50)))
    assert roll_over(engine, settings) is None
    _index_all(engine, alias, _docs(range(50, 120)))
    second = roll_over(engine, settings)
    assert second == mapping.index_name(alias, mapping.TEMPLATE_VERSION, 2)
    members = {m.index: m.is_write for m in engine.alias_members(alias)}
    assert members == {first: False, second: True}
    _index_all(engine, alias, _docs(range(120, 130)))
    engine.refresh(alias)
    assert engine.count(alias) == 130
    assert engine.count_raw(second)["count"] == 10


@pytest.mark.services
def test_rollover_waits_while_a_migration_runs(engine, settings):
    settings = settings.model_copy(update=TINY)
    alias = settings.articles_alias
    write = setup_index(engine, settings).write_index
    _index_all(engine, alias, _docs(range(150)))
    engine.update_aliases([{"add": {"index": write, "alias": migration_marker(alias)}}])
    assert roll_over(engine, settings) is None
    engine.update_aliases([{"remove": {"index": write, "alias": migration_marker(alias)}}])
    assert roll_over(engine, settings) is not None


@pytest.mark.services
def test_an_older_generations_write_index_keeps_working_and_rolls_over_into_the_current_generation(engine, settings):
    settings = settings.model_copy(update=TINY)
    alias = settings.articles_alias
    legacy = f"{alias}-000001"  # the name the first landing gave its index
    engine.create_index(legacy, {"aliases": {alias: {"is_write_index": True}}})
    assert setup_index(engine, settings).write_index == legacy
    _index_all(engine, alias, _docs(range(120)))
    assert roll_over(engine, settings) == mapping.first_index(alias)
    assert {m.index for m in engine.alias_members(alias)} == {legacy, mapping.first_index(alias)}


@pytest.mark.services
def test_retention_deletes_rollover_indices_last_written_before_it_but_never_the_write_index(engine, settings):
    settings = settings.model_copy(update={**TINY, "index_retention_days": 7})
    alias = settings.articles_alias
    first = setup_index(engine, settings).write_index
    _index_all(engine, alias, _docs(range(120), indexed_at=datetime.now(timezone.utc)))
    second = roll_over(engine, settings)
    now_ms = int(time.time() * 1000)
    assert expire(engine, settings, now_ms=now_ms) == []
    in_eight_days = now_ms + 8 * 86_400_000
    assert expire(engine, settings, now_ms=in_eight_days) == [first]
    assert [m.index for m in engine.alias_members(alias)] == [second]
    assert expire(engine, settings.model_copy(update={"index_retention_days": None}), now_ms=in_eight_days) == []


def _rollover_acceptance(engine, settings):
    """1,000 articles through the real indexer with max_docs 100, then
    updates of 100 of them after several rollovers: exactly 1,000 documents,
    each update on its one document."""
    settings = settings.model_copy(update={**TINY, "batch_max_records": 50, "index_lifecycle_interval_s": 0.05})
    alias = settings.articles_alias
    # three runs: each starts with a rollover check, so there are rollovers
    # whatever the background checks managed during a run
    for chunk in (range(0, 300), range(300, 600), range(600, 1000)):
        publish_articles(settings, [make_article(n) for n in chunk])
        run_indexer(settings, engine, until_end=True)
    before = [m.index for m in engine.alias_members(alias)]
    assert len(before) >= 3, before
    updated = range(0, 1000, 10)  # spread over every rollover index
    publish_articles(settings, [make_article(n, title=f"Updated headline {n}") for n in updated])
    stats = run_indexer(settings, engine, until_end=True)
    assert stats.indexed == 100
    engine.refresh(alias)
    assert engine.count(alias) == 1000
    for n in updated:
        hits = engine.search_raw(alias, {"query": {"ids": {"values": [make_article(n).id]}}})["hits"]["hits"]
        assert [h["_source"]["title"] for h in hits] == [f"Updated headline {n}"]
    per_index = {m.index: engine.count_raw(m.index)["count"] for m in engine.alias_members(alias)}
    assert sum(per_index.values()) == 1000 and len(per_index) > 1


@pytest.mark.services
def test_rollover_acceptance_1000_articles_and_100_updates_leave_exactly_1000_documents(engine, settings):
    _rollover_acceptance(engine, settings)

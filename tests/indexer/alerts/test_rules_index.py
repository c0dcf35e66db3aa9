"""Syncing the rules file into the rules index on the real OpenSearch."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from indexer import mapping
from indexer.alerts.compile import compile_rule
from indexer.alerts.rules import ChannelSpec, Rule, RulesFile
from indexer.alerts.rules_index import (
    PercolatorUnavailable,
    generation_index,
    is_generation_index,
    list_stored_rules,
    sync_rules,
)
from indexer.engines.detect import open_engine
from tests.indexer.alerts.rules_support import drop_rules_indices
from ingest.settings import Settings

CHANNELS = {"ops": ChannelSpec(url="http://127.0.0.1:9/hook")}


@pytest.fixture
def engine(opensearch_url: str, settings: Settings) -> Iterator[object]:
    engine = open_engine(opensearch_url, timeout_s=30.0)
    yield engine
    alias = settings.rules_index
    drop_rules_indices(engine, alias, f"{alias}-0123456789", f"{alias}-scratch-keep")
    engine.close()


def _file(*rules: Rule) -> RulesFile:
    return RulesFile(channels=CHANNELS, rules=list(rules))


def _stored(engine, settings: Settings) -> dict[str, dict]:
    return {r["name"]: r for r in list_stored_rules(engine, settings)}


def _percolate(engine, settings: Settings, text: str) -> list[str]:
    body = {"query": {"percolate": {"field": "query", "document": {"body": text, "language": "en"}}}, "_source": False}
    return sorted(hit["_id"] for hit in engine.search_raw(settings.rules_index, body)["hits"]["hits"])


BAKU = Rule(name="baku", any_of=["Baku", "باكو"], channels=["ops"])
SHUSHA = Rule(name="shusha", any_of=["Shusha", "شوشا"], cooldown="10m")
GANJA = Rule(name="ganja", any_of=["Ganja"], enabled=False)


def test_sync_creates_then_leaves_unchanged_then_updates_and_deletes(engine, settings):
    assert list_stored_rules(engine, settings) == []
    first = sync_rules(engine, settings, _file(BAKU, SHUSHA, GANJA))
    assert (first.created, first.updated, first.unchanged, first.deleted) == (["baku", "shusha"], [], [], [])
    assert first.alias_moved and list(engine.get_alias(settings.rules_index)) == [first.index]
    stored = _stored(engine, settings)
    assert set(stored) == {"baku", "shusha"}  # a disabled rule is not stored
    assert stored["baku"]["hash"] == compile_rule(BAKU, CHANNELS)["rule"]["hash"]
    assert stored["baku"]["channels"] == [{"name": "ops", "type": "webhook", "url": "http://127.0.0.1:9/hook"}]
    assert stored["shusha"]["cooldown_s"] == 600
    # the synced rules are live for the very next percolation (no refresh, no restart)
    assert _percolate(engine, settings, "talks in Baku and Shusha") == ["baku", "shusha"]

    again = sync_rules(engine, settings, _file(BAKU, SHUSHA, GANJA))
    assert (again.created, again.updated, again.unchanged, again.deleted) == ([], [], ["baku", "shusha"], [])
    assert not again.alias_moved
    # unchanged rules were not rewritten
    assert _stored(engine, settings)["baku"]["updated_at"] == stored["baku"]["updated_at"]

    louder = SHUSHA.model_copy(update={"severity": "critical", "any_of": ["Shusha", "Şuşa"]})
    third = sync_rules(engine, settings, _file(louder))
    assert (third.created, third.updated, third.unchanged, third.deleted) == ([], ["shusha"], [], ["baku"])
    assert set(_stored(engine, settings)) == {"shusha"}
    assert _stored(engine, settings)["shusha"]["severity"] == "critical"
    assert _percolate(engine, settings, "Baku and Şuşa") == ["shusha"]


def test_an_analysis_change_fills_a_new_generation_and_moves_the_alias(engine, settings, monkeypatch):
    first = sync_rules(engine, settings, _file(BAKU, SHUSHA))
    # A real second analysis: the same engine without Persian normalization.
    reduced = frozenset(engine.available_filters() - {"persian_normalization"})
    monkeypatch.setattr(engine, "available_filters", lambda: reduced)
    second = sync_rules(engine, settings, _file(BAKU, SHUSHA))
    assert second.index == generation_index(settings.rules_index, mapping.rules_index_body(reduced))
    assert second.index != first.index and second.alias_moved
    assert second.removed_indices == [first.index] and not engine.index_exists(first.index)
    assert list(engine.get_alias(settings.rules_index)) == [second.index]
    assert (second.created, second.updated, second.unchanged) == ([], [], ["baku", "shusha"])
    assert set(_stored(engine, settings)) == {"baku", "shusha"}
    assert _percolate(engine, settings, "في باكو") == ["baku"]


def test_sync_removes_stale_generations_but_never_a_scratch_index(engine, settings):
    alias = settings.rules_index
    body = mapping.rules_index_body(engine.available_filters())
    stale, scratch = f"{alias}-0123456789", f"{alias}-scratch-keep"
    for name in (stale, scratch):
        engine.create_index(name, body)
        engine.index_raw(name, "old", compile_rule(BAKU, CHANNELS), refresh="true")
    assert is_generation_index(alias, stale) and not is_generation_index(alias, scratch)
    report = sync_rules(engine, settings, _file(SHUSHA))
    assert stale in report.removed_indices and not engine.index_exists(stale)
    assert engine.index_exists(scratch)
    assert set(_stored(engine, settings)) == {"shusha"}


def test_an_engine_without_the_percolator_is_reported_clearly(elasticsearch_url, settings):
    engine = open_engine(elasticsearch_url, timeout_s=30.0)
    try:
        with pytest.raises(PercolatorUnavailable, match="no percolator field type"):
            sync_rules(engine, settings, _file(BAKU))
        assert not engine.index_exists(generation_index(settings.rules_index, mapping.rules_index_body(engine.available_filters())))
    finally:
        engine.close()

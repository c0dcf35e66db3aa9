"""Percolation of a batch against stored rules, on the real OpenSearch."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from indexer import mapping
from indexer.alerts.percolate import percolate
from indexer.engines.base import SearchEngine
from ingest.settings import Settings


def _phrase(text: str) -> dict:
    return {"multi_match": {"query": text, "type": "phrase", "fields": ["title.norm", "description.norm", "body.norm"]}}


def _rule(name: str, query: dict, **extra: object) -> dict:
    return {"query": query, "rule": {"name": name, "severity": "high", "cooldown_s": 0.0, "digest": False,
                                     "channels": [{"name": "ops", "type": "webhook", "url": "http://127.0.0.1:1/x"}],
                                     **extra}}


@pytest.fixture
def rules_index(opensearch_engine: SearchEngine, settings: Settings) -> Iterator[str]:
    name = settings.rules_index
    opensearch_engine.create_index(name, mapping.rules_index_body(opensearch_engine.available_filters()))
    yield name
    opensearch_engine.delete_index(name)


def _store(engine: SearchEngine, index: str, rules: list[dict]) -> None:
    ops: list[dict] = []
    for rule in rules:
        ops += [{"index": {"_index": index, "_id": rule["rule"]["name"]}}, rule]
    response = engine.bulk_raw(ops, refresh="true")
    assert not response["errors"], response


DOCS = [
    {"title": "خبر", "body": "قالت الوزارة إن وقره باغ منطقة متنازع عليها منذ عقود.", "language": "ar", "source": "a"},
    {"title": "Weather", "body": "Sunny in Baku, rain in Yerevan.", "language": "en", "source": "b"},
    {"title": "Новости", "body": "Переговоры о Карабахе продолжатся.", "language": "ru", "source": "c"},
]


def test_each_document_gets_the_rules_it_matches_with_the_words_that_matched(
    opensearch_engine: SearchEngine, rules_index: str
) -> None:
    _store(opensearch_engine, rules_index, [
        _rule("karabakh", {"bool": {"should": [_phrase("وقره باغ"), _phrase("Карабахе")], "minimum_should_match": 1}}),
        _rule("weather", _phrase("rain")),
        _rule("nothing", _phrase("Karachi")),
    ])
    result = percolate(opensearch_engine, rules_index, DOCS, page_size=100)
    by_slot = {slot: sorted(m.rule for m in found) for slot, found in result.slots.items()}
    assert by_slot == {0: ["karabakh"], 1: ["weather"], 2: ["karabakh"]}
    ar = result.slots[0][0]
    assert ar.matched_terms == ["وقره باغ"]  # a phrase is one matched term
    assert "<mark>وقره</mark>" in (ar.snippet or "")
    assert ar.severity == "high" and [c.name for c in ar.channels] == ["ops"]
    assert result.slots[2][0].matched_terms == ["Карабахе"]


def test_matches_past_one_page_are_not_dropped(opensearch_engine: SearchEngine, rules_index: str) -> None:
    _store(opensearch_engine, rules_index, [_rule(f"rain-{i:02d}", _phrase("rain")) for i in range(7)])
    result = percolate(opensearch_engine, rules_index, DOCS, page_size=2)
    assert sorted(m.rule for m in result.slots[1]) == [f"rain-{i:02d}" for i in range(7)]
    assert result.pages == 4


def test_a_rule_filter_on_language_is_honoured(opensearch_engine: SearchEngine, rules_index: str) -> None:
    only_ar = {"bool": {"must": [_phrase("rain")], "filter": [{"terms": {"language": ["ar"]}}]}}
    _store(opensearch_engine, rules_index, [_rule("rain-ar", only_ar)])
    assert percolate(opensearch_engine, rules_index, DOCS, page_size=10).slots == {}


def test_no_rules_index_means_no_matches_not_an_error(opensearch_engine: SearchEngine, settings: Settings) -> None:
    result = percolate(opensearch_engine, settings.rules_index + "-absent", DOCS, page_size=10)
    assert result.slots == {} and result.rules_index_missing

"""Trying a rule on articles (`rasd rules test`) on the real OpenSearch:
results per article, marked words, and nothing left behind."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from indexer.alerts.percolate import marked_terms
from indexer.alerts.rule_test import test_rule as run_rule
from indexer.alerts.rules import Rule, RulesFile
from indexer.alerts.rules_index import list_stored_rules, sync_rules
from indexer.engines.detect import open_engine
from tests.indexer.alerts.rules_support import drop_rules_indices
from ingest.engines.errors import EngineError
from ingest.settings import Settings

RULE = Rule(name="karabakh", any_of=["قره باغ", "Qarabağ*", "Карабах"])


@pytest.fixture
def engine(opensearch_url: str, settings: Settings) -> Iterator[object]:
    engine = open_engine(opensearch_url, timeout_s=30.0)
    yield engine
    drop_rules_indices(engine, settings.rules_index)
    engine.close()


def _scratch_shards(engine, settings: Settings) -> int:
    # _shards.total of a wildcard count: 0 when no scratch index exists
    return int(engine.count_raw(f"{settings.rules_index}-scratch-*")["_shards"]["total"])


def test_each_article_gets_its_verdict_and_the_marked_words(engine, settings):
    articles = [
        {"title": "Karabakh", "text": "هدنة في قره باغ وفي قره‌باغ", "language": "ar"},
        {"title": "garden", "text": "a garden, باغ", "language": "fa"},
        {"title": "Azerbaijani", "text": "Xəbərlər: Qarabağda sülh", "language": "az"},
        {"title": "Карабах сегодня", "text": "новости", "language": "ru"},
    ]
    results = run_rule(engine, settings, RULE, {}, articles)
    assert [r.index for r in results] == [0, 1, 2, 3]
    assert [r.matched for r in results] == [True, False, True, True]
    assert results[0].matched_terms == ["قره باغ"] and "<mark>قره</mark> <mark>باغ</mark>" in results[0].highlights[0]
    assert results[1].highlights == [] and results[1].matched_terms == []
    assert results[2].matched_terms == ["Qarabağda"]
    assert results[3].title == "Карабах сегодня" and results[3].matched_terms == ["Карабах"]
    assert _scratch_shards(engine, settings) == 0


def test_a_single_article_and_no_articles(engine, settings):
    [only] = run_rule(engine, settings, RULE, {}, [{"title": "Qarabağ", "text": "", "language": "az"}])
    assert only.matched and only.matched_terms == ["Qarabağ"]
    assert run_rule(engine, settings, RULE, {}, []) == []
    assert _scratch_shards(engine, settings) == 0


def test_the_scratch_index_goes_even_when_percolation_fails(engine, settings):
    # an object where the mapping has a keyword: the engine refuses the document
    broken = [{"title": "x", "text": "قره باغ", "language": {"code": "ar"}}]
    with pytest.raises(EngineError):
        run_rule(engine, settings, RULE, {}, broken)
    assert _scratch_shards(engine, settings) == 0


def test_trying_a_rule_leaves_the_stored_rules_alone(engine, settings):
    sync_rules(engine, settings, RulesFile(rules=[Rule(name="baku", any_of=["Baku"])]))
    before = list_stored_rules(engine, settings)
    run_rule(engine, settings, RULE, {}, [{"title": "Baku", "text": "Baku", "language": "en"}])
    assert list_stored_rules(engine, settings) == before


def test_marked_words_of_a_phrase_are_one_term():
    fragments = ["<mark>Нагорного</mark> <mark>Карабаха</mark> и <mark>Карабах</mark>", "<mark>Карабах</mark>"]
    assert marked_terms(fragments) == ["Нагорного Карабаха", "Карабах"]

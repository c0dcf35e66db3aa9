"""Rules compiled to percolator queries: the generated forms, the query's
limits, and what the compiled rules match on the real OpenSearch (through
``rule_test``, one percolate request per rule)."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from indexer.alerts.compile import MATCH_FIELDS, MAX_CLAUSES, alias_forms, clause_count, compile_query, compile_rule
from indexer.alerts.rule_test import RuleTestResult
from indexer.alerts.rule_test import test_rule as run_rule
from indexer.alerts.rules import ChannelSpec, NearClause, Rule, RulesError
from indexer.alerts.rules_file import load_rules
from indexer.engines.detect import open_engine
from ingest.settings import Settings

KARABAKH_ALIASES = [
    "كاراباخ", "كاراباغ", "قره باغ", "قرة باغ", "قرهباغ", "قره‌باغ", "آرتساخ",
    "Karabakh", "Karabagh", "Nagorno-Karabakh", "Qarabağ*", "Karabağ*", "Artsakh",
    "Карабах", "Нагорный Карабах", "Арцах",
]  # fmt: skip
KARABAKH = Rule(name="karabakh", any_of=KARABAKH_ALIASES, severity="high")


# -- forms (pure) ---------------------------------------------------------


def test_arabic_aliases_get_every_clitic_form_of_their_first_word():
    forms = set(alias_forms("قره باغ"))
    assert {"قره باغ", "وقره باغ", "بقره باغ", "وبقره باغ", "القره باغ", "والقره باغ", "للقره باغ", "فبالقره باغ"} <= forms
    assert "لالقره باغ" not in forms and len(forms) == 24
    # a word that already carries the article takes the prefixes before it
    assert set(alias_forms("الخرطوم")) >= {"والخرطوم", "بالخرطوم", "للخرطوم", "وللخرطوم", "كالخرطوم"}
    assert "الالخرطوم" not in alias_forms("الخرطوم")


def test_russian_aliases_get_every_case_form_with_agreeing_adjectives():
    assert {"карабах", "карабаха", "карабаху", "карабахом", "карабахе"} <= set(alias_forms("Карабах"))
    multi = set(alias_forms("Нагорный Карабах"))
    assert {"нагорного карабаха", "нагорном карабахе", "нагорным карабахом", "нагорному карабаху"} <= multi
    assert "нагорный карабаха" not in multi


def test_a_name_the_dictionary_reads_as_another_word_is_declined_as_a_nominative_noun():
    # pymorphy3 knows "арцах" only as the locative plural of "арец"
    forms = set(alias_forms("Арцах"))
    assert {"арцах", "арцаха", "арцаху", "арцахом", "арцахе"} <= forms
    assert not any(f.startswith("арц") and "ец" in f for f in forms)


def test_latin_aliases_and_prefixes_stay_as_written():
    assert alias_forms("Nagorno-Karabakh") == ["Nagorno-Karabakh"]
    assert alias_forms("Qarabağ*") == ["Qarabağ*"]
    assert alias_forms("Карабах*") == ["Карабах*"]


def test_query_shape_phrases_prefixes_filters_and_vetoes():
    rule = Rule(
        name="r", any_of=["Karabakh", "Qarabağ*"], none_of=["football"], languages=["az"], sources=["apa"], tags=["war"]
    )
    query = compile_query(rule)["bool"]
    should = query["must"][0]["bool"]["should"]
    assert {"multi_match": {"query": "Karabakh", "type": "phrase", "fields": list(MATCH_FIELDS)}} in should
    assert {"intervals": {"body.norm": {"prefix": {"prefix": "Qarabağ"}}}} in should
    assert query["filter"] == [{"terms": {"language": ["az"]}}, {"terms": {"source": ["apa"]}}, {"terms": {"tags": ["war"]}}]
    assert query["must_not"][0]["bool"]["should"][0]["multi_match"]["query"] == "football"


def test_near_compiles_to_intervals_with_max_gaps():
    rule = Rule(name="r", near=[NearClause(groups=[["Karabakh"], ["cease fire", "truc*"]], within=4, ordered=True)])
    near = compile_query(rule)["bool"]["must"][0]["bool"]["should"][0]["intervals"]["title.norm"]["all_of"]
    assert near["max_gaps"] == 4 and near["ordered"] is True
    assert near["intervals"][1]["any_of"]["intervals"] == [
        {"match": {"query": "cease fire", "max_gaps": 0, "ordered": True}},
        {"prefix": {"prefix": "truc"}},
    ]


def test_the_karabakh_rule_stays_under_the_clause_limit():
    assert clause_count(compile_query(KARABAKH)) < MAX_CLAUSES


def test_a_rule_over_the_clause_limit_is_refused_by_name():
    aliases = [f"كلمة{i}" for i in range(20)]  # 20 aliases x 24 clitic forms x 3 fields
    with pytest.raises(RulesError, match="rule 'huge': compiles to 1440 query clauses"):
        compile_rule(Rule(name="huge", any_of=aliases), {})


def test_the_rule_document_carries_channels_and_a_hash_of_the_definition():
    channels = {"ops": ChannelSpec(url="http://127.0.0.1:9/hook")}
    rule = Rule(name="r", any_of=["Baku"], channels=["ops"], cooldown="10m", digest=True)
    doc = compile_rule(rule, channels)
    assert doc["rule"]["channels"] == [{"name": "ops", "type": "webhook", "url": "http://127.0.0.1:9/hook"}]
    assert doc["rule"]["cooldown_s"] == 600 and doc["rule"]["digest"] is True and doc["rule"]["severity"] == "medium"
    assert compile_rule(rule, channels)["rule"]["hash"] == doc["rule"]["hash"]
    other_url = {"ops": ChannelSpec(url="http://127.0.0.1:9/other")}
    assert compile_rule(rule, other_url)["rule"]["hash"] != doc["rule"]["hash"]
    assert compile_rule(rule.model_copy(update={"severity": "high"}), channels)["rule"]["hash"] != doc["rule"]["hash"]


# -- matching on the real engine -----------------------------------------


@pytest.fixture(scope="module")
def engine(opensearch_url: str) -> Iterator[object]:
    engine = open_engine(opensearch_url, timeout_s=30.0)
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def rule_settings(stack_settings: Settings, opensearch_url: str) -> Settings:
    return stack_settings.namespaced(f"t{uuid.uuid4().hex[:8]}").model_copy(update={"search_url": opensearch_url})


def _run(engine, settings: Settings, rule: Rule, texts: list[str], **fields: object) -> list[RuleTestResult]:
    articles = [{"title": f"article {i}", "text": f"خبر news новость: {t} .", "language": "ar", **fields} for i, t in enumerate(texts)]
    return run_rule(engine, settings, rule, {}, articles)


KARABAKH_POSITIVES = [
    "كاراباخ", "والكاراباخ", "بكاراباخ", "لكاراباخ", "وبقره باغ", "قرة باغ", "قره‌باغ", "كاراباـخ", "كَارَابَاخ",
    "Karabakh", "KARABAKH", "Qarabağ", "Qarabağda", "Karabağ'da", "Nagorno Karabakh",
    "Карабах", "Карабаха", "Карабахе", "Карабахом", "Нагорного Карабаха", "в Арцахе",
    "Artsakh", "در قره‌باغ کوهستانی", "آرتساخ",
]  # fmt: skip
# Karabakhstan does not match: aliases are whole words unless they end in '*'.
KARABAKH_NEGATIVES = ["قره داغ", "قره كبير باغ", "باغ", "باغ قره", "Karabük", "Karabash", "Karabakhstan", "Карабаш"]


def test_the_karabakh_rule_matches_every_script_clitic_and_inflected_form(engine, rule_settings):
    results = _run(engine, rule_settings, KARABAKH, KARABAKH_POSITIVES)
    missed = [text for text, r in zip(KARABAKH_POSITIVES, results) if not r.matched]
    assert missed == []
    assert all(r.matched_terms for r in results)


def test_the_karabakh_rule_rejects_lookalikes_and_separated_phrase_words(engine, rule_settings):
    results = _run(engine, rule_settings, KARABAKH, KARABAKH_NEGATIVES)
    assert [text for text, r in zip(KARABAKH_NEGATIVES, results) if r.matched] == []


def test_none_of_vetoes_and_filters_must_all_hold(engine, rule_settings):
    rule = Rule(name="r", any_of=["Karabakh"], none_of=["قره داغ", "football"], languages=["ar"], tags=["politics"])
    texts = ["Karabakh talks", "Karabakh football club", "Karabakh and قره داغ"]
    matched = [r.matched for r in _run(engine, rule_settings, rule, texts, tags=["politics"])]
    assert matched == [True, False, False]
    assert [r.matched for r in _run(engine, rule_settings, rule, ["Karabakh talks"], language="en", tags=["politics"])] == [False]
    assert [r.matched for r in _run(engine, rule_settings, rule, ["Karabakh talks"], tags=["sport"])] == [False]


def test_near_matches_only_within_the_word_distance(engine, rule_settings):
    rule = Rule(name="r", near=[NearClause(groups=[["Karabakh", "كاراباخ"], ["ceasefire", "هدنة"]], within=3)])
    texts = [
        "Karabakh one two three ceasefire",
        "Karabakh one two three four ceasefire",
        "ceasefire in Karabakh",
        "هدنة في الكاراباخ",
    ]
    assert [r.matched for r in _run(engine, rule_settings, rule, texts)] == [True, False, True, True]
    ordered = Rule(name="r", near=[NearClause(groups=[["Karabakh"], ["ceasefire"]], within=3, ordered=True)])
    assert [r.matched for r in _run(engine, rule_settings, ordered, texts[:3])] == [True, False, False]


def test_all_of_needs_every_group(engine, rule_settings):
    rule = Rule(name="r", any_of=["Karabakh"], all_of=[["ceasefire", "هدنة"], ["Baku", "باكو"]])
    texts = ["Karabakh ceasefire from Baku", "Karabakh ceasefire", "هدنة كاراباخ Karabakh باكو"]
    assert [r.matched for r in _run(engine, rule_settings, rule, texts)] == [True, False, True]


def test_every_example_rule_compiles_under_the_clause_limit():
    example = load_rules(Path(__file__).resolve().parents[3] / "deploy" / "rules.example.yaml")
    for rule in example.rules:
        assert clause_count(compile_rule(rule, example.channels)["query"]) < MAX_CLAUSES

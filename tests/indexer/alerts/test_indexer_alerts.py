"""Matching inside the indexing path, on real OpenSearch and Kafka: the
indexer percolates each batch, stores the matched rule names on the
articles and emits alerts only for what the engine acknowledged."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from indexer import mapping
from indexer.alerts.records import alert_id
from indexer.engines.base import SearchEngine
from indexer.worker import run_indexer
from ingest.models import Alert
from ingest.settings import Settings
from tests.indexer.support import fully_committed, make_article, publish_articles, read_dead_letters, read_keyed
from indexer.worker import group_id

pytestmark = pytest.mark.services

CHANNEL = {"name": "ops", "type": "webhook", "url": "http://127.0.0.1:9/hook"}


def _phrase(text: str) -> dict:
    return {"multi_match": {"query": text, "type": "phrase", "fields": ["title.norm", "description.norm", "body.norm"]}}


@pytest.fixture
def rules(opensearch_engine: SearchEngine, settings: Settings) -> Iterator[str]:
    index = settings.rules_index
    opensearch_engine.create_index(index, mapping.rules_index_body(opensearch_engine.available_filters()))
    ops: list[dict] = []
    for name, text, severity in (("karabakh", "Karabakh", "high"), ("baku", "Baku", "low")):
        ops += [
            {"index": {"_index": index, "_id": name}},
            {"query": _phrase(text), "rule": {"name": name, "severity": severity, "cooldown_s": 0.0,
                                              "digest": False, "channels": [CHANNEL]}},
        ]
    assert not opensearch_engine.bulk_raw(ops, refresh="true")["errors"]
    yield index
    for name in (index, settings.alerts_index, f"{settings.alerts_index}-cooldowns"):
        try:
            opensearch_engine.delete_index(name)
        except Exception:
            pass


def _articles() -> list:
    return [
        make_article(1, title="Talks on Karabakh", body="Envoys met in Baku to discuss Karabakh. " * 8),
        make_article(2, title="Weather", body="Rain is expected in Yerevan tomorrow. " * 8),
        make_article(3, title="Markets", body="Traders in Baku watched oil prices. " * 8),
    ]


def test_matched_rules_are_stored_on_the_articles_and_alerts_emitted_once_each(
    opensearch_engine: SearchEngine, settings: Settings, rules: str
) -> None:
    articles = _articles()
    publish_articles(settings, articles)
    stats = run_indexer(settings, opensearch_engine, until_end=True)
    assert (stats.indexed, stats.alerts) == (3, 3)
    opensearch_engine.refresh(settings.articles_alias)
    stored = {a.id: opensearch_engine.get(settings.articles_alias, a.id)["matched_rules"] for a in articles}
    assert stored == {articles[0].id: ["baku", "karabakh"], articles[1].id: [], articles[2].id: ["baku"]}

    messages = read_keyed(settings, settings.topic_alerts, Alert, expected=3)
    assert sorted((key, alert.rule, alert.article_id) for key, alert in messages) == sorted([
        (b"baku", "baku", articles[0].id), (b"karabakh", "karabakh", articles[0].id), (b"baku", "baku", articles[2].id),
    ])
    karabakh = next(a for _, a in messages if a.rule == "karabakh")
    assert karabakh.id == alert_id("karabakh", articles[0].id)
    assert karabakh.severity == "high" and karabakh.channels == ["ops"]
    assert karabakh.matched_terms == ["Karabakh"] and "<mark>Karabakh</mark>" in (karabakh.snippet or "")
    assert karabakh.indexed_at <= karabakh.alerted_at

    # The alert document is in the alerts index with a pending delivery.
    doc = opensearch_engine.get_raw(settings.alerts_index, karabakh.id)
    assert doc is not None and doc["_source"]["deliveries"][0]["channel"] == "ops"
    assert fully_committed(settings, group_id(settings, opensearch_engine))


def test_a_replayed_batch_makes_no_second_alert_document(
    opensearch_engine: SearchEngine, settings: Settings, rules: str
) -> None:
    publish_articles(settings, _articles())
    run_indexer(settings, opensearch_engine, until_end=True)
    replay = settings.model_copy(update={"indexer_group_id": settings.indexer_group_id + "-replay"})
    run_indexer(replay, opensearch_engine, until_end=True)
    opensearch_engine.refresh_index(settings.alerts_index)
    assert opensearch_engine.count_raw(settings.alerts_index)["count"] == 3
    # The replay announces the alerts again (same ids): the notifier's
    # outbox makes that harmless, a lost announcement would not be.
    ids = [a.id for _, a in read_keyed(settings, settings.topic_alerts, Alert, expected=6)]
    assert len(ids) == 6 and len(set(ids)) == 3


def test_an_article_the_engine_rejects_raises_no_alert(
    opensearch_engine: SearchEngine, settings: Settings, rules: str
) -> None:
    # A keyword above Lucene's term limit: the engine refuses the document,
    # so there is nothing for an alert to point at.
    good = make_article(1, title="Karabakh today")
    bad = make_article(2, title="Karabakh tomorrow", domain="d" * 40_000)
    publish_articles(settings, [good, bad])
    stats = run_indexer(settings, opensearch_engine, until_end=True)
    assert (stats.indexed, stats.dead_lettered) == (1, 1)
    assert [letter.reason for letter in read_dead_letters(settings, expected=1)] == ["index_rejected"]
    alerts = [a for _, a in read_keyed(settings, settings.topic_alerts, Alert, expected=1)]
    assert [a.article_id for a in alerts] == [good.id]


def test_without_a_rules_index_articles_are_indexed_with_no_rules(
    opensearch_engine: SearchEngine, settings: Settings
) -> None:
    publish_articles(settings, _articles())
    stats = run_indexer(settings, opensearch_engine, until_end=True)
    assert (stats.indexed, stats.alerts) == (3, 0)
    opensearch_engine.refresh(settings.articles_alias)
    assert opensearch_engine.get(settings.articles_alias, _articles()[0].id)["matched_rules"] == []


def test_a_document_the_engine_cannot_percolate_costs_only_its_own_alerts(
    opensearch_engine: SearchEngine, settings: Settings, rules: str
) -> None:
    # A source name above Lucene's term limit: the engine refuses to
    # percolate the batch (and to index that document). The batch is matched
    # again one document at a time; the others keep their alerts.
    good = make_article(1, title="Karabakh talks")
    bad = make_article(2, title="Karabakh again", source="s" * 40_000)
    publish_articles(settings, [good, bad, make_article(3, title="Baku markets")])
    stats = run_indexer(settings, opensearch_engine, until_end=True)
    assert (stats.indexed, stats.alerts) == (2, 2)
    letters = read_dead_letters(settings, expected=2)
    assert sorted((letter.reason, letter.url) for letter in letters) == [
        ("index_rejected", bad.url), ("percolate_failed", bad.url)
    ]
    percolate_letter = next(letter for letter in letters if letter.reason == "percolate_failed")
    assert "immense" in percolate_letter.detail or "32766" in percolate_letter.detail
    alerts = sorted((a.rule, a.article_id) for _, a in read_keyed(settings, settings.topic_alerts, Alert, expected=2))
    assert alerts == [("baku", make_article(3).id), ("karabakh", good.id)]


def test_a_story_republished_on_several_sites_alerts_once_per_rule(
    opensearch_engine: SearchEngine, settings: Settings, rules: str
) -> None:
    body = "Envoys met in Baku to discuss Karabakh. " * 8
    first = make_article(1, title="Talks on Karabakh", body=body)
    copies = [first.model_copy(update={"cluster_id": first.id})] + [
        make_article(n, title=f"Karabakh talks, copy {n}", body=body + f" Copy {n}.").model_copy(
            update={"cluster_id": first.id})
        for n in (2, 3)
    ]
    other = make_article(4, title="Karabakh border", body="A different story about Karabakh. " * 8)
    publish_articles(settings, [*copies, other])
    stats = run_indexer(settings, opensearch_engine, until_end=True)
    assert stats.indexed == 4
    messages = read_keyed(settings, settings.topic_alerts, Alert, expected=3)
    karabakh = [a for _, a in messages if a.rule == "karabakh"]
    # the copies share one alert id (rule + cluster): the copy the indexer
    # met first (partitions are read in any order) stands for the story
    assert len(karabakh) == 2
    assert {a.id for a in karabakh} == {alert_id("karabakh", first.id), alert_id("karabakh", other.id)}
    story = next(a for a in karabakh if a.id == alert_id("karabakh", first.id))
    assert story.article_id in {c.id for c in copies}
    # every copy still carries the rule it matched, for dashboards
    opensearch_engine.refresh(settings.articles_alias)
    assert all("karabakh" in opensearch_engine.get(settings.articles_alias, a.id)["matched_rules"] for a in copies)

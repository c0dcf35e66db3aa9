"""Issue 6 acceptance, end to end on real Kafka and OpenSearch: the labelled
alert corpus is crawled from its fixture sites, extracted, indexed with
percolation and delivered to a webhook run by the test, while the webhook
fails twice per alert and the indexer is killed (SIGKILL) in the middle of
a batch; then a rule added while everything runs fires on the next article."""
from __future__ import annotations

import signal
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from crawlers.run import crawl
from crawlers.sources import load_sources
from deploy.alert_corpus import CorpusArticle, corpus_universe, record_urls, rules_yaml, write_sources_file
from indexer.alerts.records import alert_id
from indexer.alerts.rules import Rule
from indexer.alerts.rules_file import add_rule, load_rules
from indexer.alerts.rules_index import sync_rules
from indexer.engines.detect import open_engine
from indexer.mapping import first_index
from indexer.worker import group_id, run_indexer
from ingest.identity import document_id
from ingest.kafka_io import ensure_topics
from ingest.worker import run_ingest
from tests.indexer.alerts.alert_support import NotifierThread
from deploy.webhook_sink import WebhookServer
from tests.indexer.support import fully_committed, sigkill_indexer_when

pytestmark = pytest.mark.services

SECRET = "e2e-shared-secret"
FAILURES_PER_ALERT = 2
BATCH = 8


class Pipeline:
    """What the module's run left behind, for the tests to look at."""

    def __init__(self) -> None:
        self.labels: dict[str, CorpusArticle] = {}  # document id -> record
        self.kill_returncode: int | None = None
        self.alerts_before_restart = 0
        self.articles_before_restart = 0


def _wait(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _count(engine: Any, index: str) -> int:
    if not engine.index_exists(index):
        return 0
    engine.refresh_index(index)
    return int(engine.count_raw(index)["count"])


@pytest.fixture(scope="module")
def run(stack_settings, kafka_bootstrap, opensearch_url, tmp_path_factory) -> Iterator[tuple[Pipeline, Any, Any, Any]]:
    tmp = tmp_path_factory.mktemp("alerts-e2e")
    settings = stack_settings.namespaced(f"al{uuid.uuid4().hex[:8]}").model_copy(update={
        "kafka_bootstrap_servers": kafka_bootstrap,
        "search_url": opensearch_url,
        "crawl_download_delay_s": 0.0,
        "batch_max_records": BATCH,
        "consumer_poll_timeout_ms": 200,
        "alert_webhook_secret": SecretStr(SECRET),
        "alert_delivery_retry_initial_s": 0.1,
        "alert_delivery_retry_max_s": 0.5,
        "alert_sweep_interval_s": 0.2,
        "rules_file": tmp / "rules.yaml",
    })
    ensure_topics(settings)
    engine = open_engine(opensearch_url, timeout_s=60.0)
    pipeline = Pipeline()
    with WebhookServer(SECRET) as hook, corpus_universe() as universe:
        hook.fail_first_per_key(FAILURES_PER_ALERT)
        settings.rules_file.write_text(rules_yaml(hook.url), encoding="utf-8")
        sync_rules(engine, settings, load_rules(settings.rules_file))
        pipeline.labels = {document_id(url): record for url, record in record_urls(universe).items()}

        sources = load_sources(write_sources_file(universe, tmp / "sources.yaml"))
        crawl(settings, sources)
        run_ingest(settings, until_end=True)

        with NotifierThread(settings, opensearch_url):
            # The indexer runs as its own process behind a proxy that holds
            # the response to the batch's second bulk request (its alert
            # documents): the engine has the articles and their alerts, the
            # indexer has neither announced the alerts nor committed. Killed there.
            pipeline.kill_returncode, _proxy = sigkill_indexer_when(
                settings, opensearch_url, tmp / "indexer.log", lambda proxy: proxy.held.is_set(),
                hold_from=2, timeout_s=120,
            )
            pipeline.alerts_before_restart = _count(engine, settings.alerts_index)
            pipeline.articles_before_restart = _count(engine, first_index(settings.articles_alias))

            stop = threading.Event()
            errors: list[BaseException] = []

            def index_forever() -> None:
                try:
                    run_indexer(settings, engine, stop=stop)
                except BaseException as exc:
                    errors.append(exc)

            indexer = threading.Thread(target=index_forever, daemon=True)
            indexer.start()
            try:
                # The killed member holds its partitions until its session ends.
                _wait(lambda: fully_committed(settings, group_id(settings, engine)) or errors, 120, "the replay")
                assert not errors, errors
                yield pipeline, settings, engine, (hook, universe, stop, errors)
            finally:
                stop.set()
                indexer.join(timeout=60)
    for index in (settings.alerts_index, f"{settings.alerts_index}-cooldowns"):
        if engine.index_exists(index):
            engine.delete_index(index)
    engine.close()


def _expected_alerts(pipeline: Pipeline) -> set[str]:
    return {alert_id(rule, doc_id) for doc_id, record in pipeline.labels.items() for rule in record.expected_rules}


def test_the_indexer_was_killed_after_recording_alerts_and_before_announcing_them(run) -> None:
    pipeline, _settings, _engine, _ = run
    assert pipeline.kill_returncode == -signal.SIGKILL
    assert 0 < pipeline.articles_before_restart <= BATCH
    assert pipeline.alerts_before_restart > 0


def test_every_rule_finds_every_labelled_article_and_almost_nothing_else(run) -> None:
    pipeline, settings, engine, _ = run
    engine.refresh(settings.articles_alias)
    assert engine.count(settings.articles_alias) == len(pipeline.labels) >= 60
    rules = sorted({rule for record in pipeline.labels.values() for rule in record.expected_rules})
    report = []
    for rule in rules:
        expected = {doc for doc, record in pipeline.labels.items() if rule in record.expected_rules}
        found = {doc for doc in pipeline.labels if rule in engine.get(settings.articles_alias, doc)["matched_rules"]}
        missed = sorted(pipeline.labels[d].id for d in expected - found)
        false = sorted(pipeline.labels[d].id for d in found - expected)
        recall = len(found & expected) / len(expected)
        precision = len(found & expected) / len(found) if found else 0.0
        report.append((rule, recall, precision, missed, false))
    print("rule recall/precision on the corpus:", [(r, rec, prec) for r, rec, prec, _m, _f in report])
    for rule, recall, precision, missed, false in report:
        assert recall == 1.0, f"{rule}: missed {missed}"
        assert precision >= 0.95, f"{rule}: false alarms {false}"


def test_each_alert_reaches_the_webhook_exactly_once_with_a_valid_signature(run) -> None:
    pipeline, _settings, _engine, (hook, *_rest) = run
    expected = _expected_alerts(pipeline)
    assert hook.wait_for(lambda: expected <= set(hook.delivered()), timeout=60), sorted(expected - set(hook.delivered()))
    time.sleep(1.0)  # a late duplicate would arrive within the sweep interval
    delivered = hook.delivered()
    assert set(delivered) == expected
    assert all(len(deliveries) == 1 for deliveries in delivered.values())
    for key in expected:
        requests = hook.for_key(key)
        # it failed twice first, and every attempt was signed correctly
        assert [r.ok for r in requests] == [False] * FAILURES_PER_ALERT + [True], key
        assert all(r.signature_valid for r in requests), key
        body = requests[-1].json
        assert body["type"] == "alert" and body["alert"]["id"] == key


def test_alert_records_carry_the_article_and_the_words_that_matched(run) -> None:
    pipeline, settings, engine, _ = run
    engine.refresh_index(settings.alerts_index)
    assert int(engine.count_raw(settings.alerts_index)["count"]) == len(_expected_alerts(pipeline))
    clitic = next(d for d, r in pipeline.labels.items() if "بكاراباخ" in r.text and "karabakh" in r.expected_rules)
    source = engine.get_raw(settings.alerts_index, alert_id("karabakh", clitic))["_source"]
    assert source["url"] and source["source"] and source["severity"] == "high"
    assert "بكاراباخ" in source["matched_terms"]
    assert "<mark>بكاراباخ</mark>" in source["snippet"]


def test_a_rule_added_while_the_pipeline_runs_fires_on_the_next_matching_article(run) -> None:
    pipeline, settings, engine, (hook, universe, _stop, errors) = run
    add_rule(settings.rules_file, Rule.model_validate(
        {"name": "lachin", "any_of": ["Lachin", "لاتشين", "Лачин", "Laçın*"], "severity": "medium",
         "channels": ["corpus-hook"]}))
    sync_rules(engine, settings, load_rules(settings.rules_file))

    record = CorpusArticle(
        id="en-99", lang="en", title="Traffic resumes on the Lachin road",
        paragraphs=[
            "Lorries carrying food and fuel crossed the Lachin road on Tuesday morning after a week of closures.",
            "Drivers said the checkpoints worked faster than before, and local traders expect prices to fall.",
            "The road is the only land link for several villages in the mountains, officials said.",
        ],
        published=datetime.now(timezone.utc), expected_rules=["lachin"], note="added while running",
    )
    site = next(s for s in universe.sites.values() if "en" in getattr(s, "spec").languages)
    url = site.publish_record(record)
    crawl(settings, load_sources(Path(settings.rules_file).with_name("sources.yaml")))
    run_ingest(settings, until_end=True)

    key = alert_id("lachin", document_id(url))
    assert hook.wait_for(lambda: key in hook.delivered(), timeout=60), "the new rule never fired"
    assert not errors, errors
    assert [r.ok for r in hook.for_key(key)] == [False] * FAILURES_PER_ALERT + [True]
    # The second crawl fetched every page again: the corpus articles that
    # name Lachin now match the new rule too, and no alert was sent twice.
    # Their alerts are retried on their own schedule, so wait for all of them
    # before looking for duplicates.
    lachin = {alert_id("lachin", doc) for doc, record in pipeline.labels.items()
              if any(word in record.text for word in ("Lachin", "Laçın", "Лачин", "لاتشين"))}
    expected = _expected_alerts(pipeline) | lachin | {key}
    assert hook.wait_for(lambda: expected <= set(hook.delivered()), timeout=60), \
        sorted(expected - set(hook.delivered()))
    time.sleep(1.0)  # a late duplicate would arrive within the sweep interval
    assert set(hook.delivered()) == expected
    assert all(len(deliveries) == 1 for deliveries in hook.delivered().values())

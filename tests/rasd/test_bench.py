"""The pipeline benchmark's burst runs make every article of a small
generated site searchable (figures not checked)."""
from __future__ import annotations

import pytest

from deploy.demo_site.generate import generate_articles
from rasd.bench import stage_by_stage, streaming
from rasd.bench_runs import drop_run
from tests.progress_support import json_events, json_logging, progress_lines

pytestmark = pytest.mark.services


def test_both_burst_runs_bring_every_generated_article_through(stack_settings, kafka_bootstrap, opensearch_url, capfd):
    # WARNING as `rasd bench` runs: the progress lines show all the same
    base = stack_settings.model_copy(update={"kafka_bootstrap_servers": kafka_bootstrap, "log_level": "WARNING",
                                             "log_json": True, "progress_interval_s": 0.2})
    articles = generate_articles(40)
    with json_logging():
        one = stage_by_stage(base, articles, opensearch_url)
    drop_run(one["settings"])
    _check_stage_progress(json_events(capfd.readouterr().err), one)
    # the generated articles share paragraphs: none may be lost as site boilerplate
    assert one["pages_fetched"] == one["articles"] == one["documents_in_index"] == 40
    with json_logging():
        two = streaming(base, articles, opensearch_url, timeout_s=60)
    drop_run(two["settings"])
    streamed = progress_lines(json_events(capfd.readouterr().err), "streaming")
    assert streamed and all(e["of"] == 40 and 0 <= e["searchable"] <= 40 for e in streamed)
    assert two["failures"] == []
    assert two["searchable"] == two["expected"] == 40
    lat = two["served_to_searchable_s"]
    assert 0 < lat["p50"] <= lat["p95"] <= lat["max"]


def _check_stage_progress(events: list[dict], run: dict) -> None:
    crawl = progress_lines(events, "crawl")
    assert crawl and all(0 <= e["published"] <= 40 for e in crawl)
    ingest = progress_lines(events, "ingest")
    assert ingest and all(e["of"] == 40 and 0 <= e["articles"] <= e["pages"] <= 40 for e in ingest)
    index = progress_lines(events, "index")
    assert index and all(e["of"] == run["articles"] and 0 <= e["indexed"] <= e["articles"] <= e["of"] for e in index)
    # in order: a stage's lines end before the next one's begin
    assert events.index(crawl[-1]) < events.index(ingest[0]) and events.index(ingest[-1]) < events.index(index[0])

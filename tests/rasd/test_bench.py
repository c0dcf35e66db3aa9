"""The pipeline benchmark's burst runs make every article of a small
generated site searchable (figures not checked)."""
from __future__ import annotations

import pytest

from deploy.demo_site.generate import generate_articles
from rasd.bench import stage_by_stage, streaming
from rasd.bench_runs import drop_run

pytestmark = pytest.mark.services


def test_both_burst_runs_bring_every_generated_article_through(stack_settings, kafka_bootstrap, opensearch_url):
    base = stack_settings.model_copy(update={"kafka_bootstrap_servers": kafka_bootstrap, "log_level": "WARNING"})
    articles = generate_articles(40)
    one = stage_by_stage(base, articles, opensearch_url)
    drop_run(one["settings"])
    # the generated articles share paragraphs: none may be lost as site boilerplate
    assert one["pages_fetched"] == one["articles"] == one["documents_in_index"] == 40
    two = streaming(base, articles, opensearch_url, timeout_s=60)
    drop_run(two["settings"])
    assert two["failures"] == []
    assert two["searchable"] == two["expected"] == 40
    lat = two["served_to_searchable_s"]
    assert 0 < lat["p50"] <= lat["p95"] <= lat["max"]

"""The indexer benchmark runs end to end on a tiny corpus (figures not checked)."""
from __future__ import annotations

import pytest

from rasd.bench_index import arabic_articles, run_benchmark
from tests.progress_support import json_events, json_logging, progress_lines

pytestmark = pytest.mark.services


def test_generated_articles_are_arabic_with_their_normalized_copies():
    articles = arabic_articles(3)
    assert len({a.id for a in articles}) == 3
    assert all(a.language == "ar" and a.body_norm and a.title_norm and len(a.body) > 500 for a in articles)


def test_bench_index_reports_indexer_and_ceiling_figures_for_both_engines(stack_settings, capfd):
    with json_logging():
        report = run_benchmark(stack_settings.model_copy(update={"progress_interval_s": 0.1}), articles=30)
    # every indexer run (its start included) lasts a few tenths of a second at least
    lines = progress_lines(json_events(capfd.readouterr().err), "index")
    assert {e["engine"] for e in lines} == {"opensearch", "elasticsearch"}
    assert all(e["of"] == 30 and 0 <= e["indexed"] <= e["articles"] <= 30 for e in lines)
    for engine in ("opensearch", "elasticsearch"):
        assert f"  {engine}:" in report
    assert report.count("raw _bulk (ceiling)") == 2
    assert report.count("ratio to ceiling") == 10
    assert "real Kafka topic" in report

"""The steady-mode benchmark runs end to end at a low rate for a few
seconds (its figures are not checked, only the report's shape)."""
from __future__ import annotations

import pytest

from rasd.bench_runs import drop_run
from rasd.bench_steady import steady, steady_lines
from tests.progress_support import json_events, json_logging, progress_lines

pytestmark = pytest.mark.services


def test_steady_run_reports_latency_percentiles_of_every_published_article(
    stack_settings, kafka_bootstrap, opensearch_url, capfd
):
    base = stack_settings.model_copy(update={"kafka_bootstrap_servers": kafka_bootstrap, "log_level": "WARNING",
                                             "progress_interval_s": 1.0})
    with json_logging():
        result = steady(base, opensearch_url, rate_per_s=2.0, seconds=15, drain_s=40)
    try:
        # a line a second over 15 s of publishing: the counts grow as articles come out
        lines = progress_lines(json_events(capfd.readouterr().err), "steady")
        assert len(lines) >= 10, lines
        assert all(e["of"] == 30 and 0 <= e["searchable"] <= 30 and 0 <= e["published"] <= 30 for e in lines)
        assert lines[0]["published"] < lines[-1]["published"] and lines[0]["searchable"] < lines[-1]["searchable"]
        assert result.failures == []
        assert result.published == 30
        assert 0 < result.searchable <= result.published
        for lat in (result.served_to_searchable_s, result.published_to_searchable_s):
            assert 0 < lat["p50"] <= lat["p95"] <= lat["max"]
        # publication comes before the crawler's fetch
        assert result.published_to_searchable_s["max"] >= result.served_to_searchable_s["max"]
        report = "\n".join(steady_lines(result))
        assert "2.0 articles/s published" in report and "feed polled every 1 s" in report
        assert "served -> searchable" in report and "published -> searchable" in report
        assert result.crawl is not None and result.crawl.pages_published >= result.searchable
    finally:
        drop_run(result.settings)

"""The steady-mode benchmark runs end to end at a low rate for a few
seconds (its figures are not checked, only the report's shape)."""
from __future__ import annotations

import pytest

from rasd.bench_runs import drop_run
from rasd.bench_steady import steady, steady_lines

pytestmark = pytest.mark.services


def test_steady_run_reports_latency_percentiles_of_every_published_article(
    stack_settings, kafka_bootstrap, opensearch_url
):
    base = stack_settings.model_copy(update={"kafka_bootstrap_servers": kafka_bootstrap, "log_level": "WARNING"})
    result = steady(base, opensearch_url, rate_per_s=2.0, seconds=15, drain_s=40)
    try:
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

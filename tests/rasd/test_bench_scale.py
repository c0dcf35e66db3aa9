"""The scale benchmark runs end to end on a tiny corpus: one ingest worker
and one indexer process, then two of each (figures not checked)."""
from __future__ import annotations

import pytest

from rasd.bench_scale import ScaleRun, report, scale_runs
from tests.progress_support import json_events, json_logging, progress_lines

pytestmark = pytest.mark.services


def test_scale_runs_make_every_article_searchable_with_one_and_two_processes_per_stage(
    stack_settings, kafka_bootstrap, opensearch_url, capfd
):
    base = stack_settings.model_copy(update={"kafka_bootstrap_servers": kafka_bootstrap, "log_level": "WARNING",
                                             "progress_interval_s": 0.5})
    with json_logging():
        one, two = scale_runs(base, 40, opensearch_url, timeout_s=120)
    # each run logs while its processes start and work (several seconds each)
    lines = progress_lines(json_events(capfd.readouterr().err), "bench_scale")
    assert {e["processes_per_stage"] for e in lines} == {1, 2}
    assert all(0 <= e["searchable"] <= e["of"] <= 40 for e in lines)
    for run, processes in ((one, 1), (two, 2)):
        assert run.failures == []
        assert run.per_stage == processes and run.pages == 40
        assert 0 < run.articles <= 40 and run.documents == run.articles
        assert run.pages_per_s > 0 and 0 < run.machine_busy <= 1
        assert sorted(run.cpu_s) == sorted([f"ingest-{i + 1}" for i in range(processes)]
                                           + [f"index-{i + 1}" for i in range(processes)])
        assert all(seconds > 0 for seconds in run.cpu_s.values())
    text = report(one, two, "opensearch")
    assert "1 ingest + 1 indexer process:" in text and "2 ingest + 2 indexer processes:" in text
    assert "two of each / one of each:" in text


def _run(documents: int, seconds: float, steady_s: float) -> ScaleRun:
    return ScaleRun(per_stage=1, pages=100, articles=documents, documents=documents, seconds=seconds,
                    steady_s=steady_s, steady_documents=documents // 2, machine_busy=0.5, cpu_s={"ingest-1": 1.0})


def test_report_gives_the_ratio_of_two_processes_to_one():
    text = report(_run(100, 10.0, 5.0), _run(100, 5.0, 2.0), "opensearch")
    assert "2.00x end to end" in text and "2.50x first to last searchable" in text
    assert "10.0 pages/s from the first searchable to the last" in text


def test_report_without_a_spread_of_searchable_times_gives_no_steady_rate():
    text = report(_run(10, 2.0, 0.0), _run(10, 1.0, 0.0), "opensearch")
    assert "all became searchable at once" in text
    assert "2.00x end to end" in text and "first to last searchable" not in text.split("one of each:")[1]

"""The README's first command: `rasd demo` on the local stack and the bundled
demo site, run twice."""
import socket
import uuid
from pathlib import Path

import pytest

from deploy.demo_site.content import load_articles
from rasd.demo import SAMPLE_QUERY, run_demo
from tests.progress_support import json_events, json_logging, logged_before, progress_lines


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def demo_settings(stack_settings):
    tag = f"demo{uuid.uuid4().hex[:8]}"
    return stack_settings.namespaced(tag).model_copy(
        update={
            "indexer_group_id": None,
            "demo_site_port": _free_port(),
            "sources_file": None,
            "crawl_download_delay_s": 0.0,
            "rules_file": Path("no-such-rules.yaml"),  # the demo's own rules
            # the crawl child logs JSON; a stage of a few seconds gets several lines
            "log_json": True,
            "progress_interval_s": 0.2,
        }
    )


def test_demo_reports_every_stage_and_a_second_run_adds_no_copy(demo_settings, capfd):
    articles = len(load_articles())
    with json_logging():
        first = run_demo(demo_settings)
    _check_progress(json_events(capfd.readouterr().err), first)
    # the demo site's articles plus its page without article text
    assert first.pages_fetched == articles + 1
    assert first.articles_extracted == articles
    assert first.crawl_dead_letters == {"http_error": 1, "not_html": 1}
    assert first.ingest_dead_letters == {"empty_extraction": 1}
    assert {e.name for e in first.engines} == {"opensearch", "elasticsearch"}
    for engine in first.engines:
        assert engine.documents == first.articles_extracted
        assert engine.sample_hits, f"{SAMPLE_QUERY} finds the seed article on {engine.name}"
    # three demo articles name Karabakh (كاراباخ once, قره باغ twice): the
    # demo's rule fires on them where the engine can percolate
    alerts = {e.name: e.alerts for e in first.engines}
    assert alerts == {"opensearch": {"karabakh": 3}, "elasticsearch": None}
    text = first.render()
    assert "pages fetched" in text and "opensearch" in text and SAMPLE_QUERY in text
    assert "alerts by rule: {'karabakh': 3}" in text and "no percolator" in text

    second = run_demo(demo_settings)
    for before, after in zip(first.engines, second.engines):
        assert after.documents == before.documents
        assert after.indexed_this_run == first.articles_extracted, "the second run re-indexed every article in place"
        assert after.alerts == before.alerts, "a re-run makes no second alert"


def _check_progress(events: list[dict], report) -> None:
    """Each stage logged progress while it ran, with counts that add up."""
    crawl = progress_lines(events, "crawl")
    assert crawl and logged_before(events, crawl[-1], "demo_ingest")
    assert all(0 <= e["published"] <= report.pages_fetched and e["queued"] >= 0 for e in crawl)
    ingest = progress_lines(events, "ingest")
    assert ingest and logged_before(events, ingest[-1], "demo_index")
    assert all(e["of"] == report.pages_fetched and 0 <= e["pages"] <= e["of"] and 0 <= e["pct"] <= 100
               for e in ingest)
    index = progress_lines(events, "index")
    assert {e["engine"] for e in index} == {"opensearch", "elasticsearch"}
    assert all(e["of"] == report.articles_extracted and 0 <= e["indexed"] <= e["articles"] <= e["of"]
               for e in index)
    for line in crawl + ingest + index:
        assert line["per_s"] >= 0 and line["elapsed_s"] >= 0

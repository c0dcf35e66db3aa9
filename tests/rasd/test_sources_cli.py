"""`rasd sources check` on the fixture universe (web sites on loopback; no
Kafka or search engine needed)."""
import json

import pytest
from typer.testing import CliRunner

from deploy.universe import fixture_universe
from rasd.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def universe():
    u = fixture_universe(slow_latency_s=0.0).start()
    yield u
    u.stop()


def test_sources_check_reports_what_each_source_leads_to(universe, tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text(universe.sources_yaml(), encoding="utf-8")
    result = runner.invoke(app, ["sources", "check", "--sources", str(path), "--json"])
    reports = {r["name"]: r for r in json.loads(result.stdout)}
    # homepage-only sources: the feeds the homepage announces, the sitemaps robots.txt names
    sahafa = {(item["kind"], item["discovered"]) for item in reports["sahafa"]["listings"]}
    assert ("feed", True) in sahafa and reports["sahafa"]["crawl_delay_s"] == 1.0
    nouvelles = [item for item in reports["nouvelles"]["listings"] if item["kind"] == "sitemap"]
    assert nouvelles and all(item["discovered"] and item["ok"] for item in nouvelles)
    assert reports["akhbar"]["ok"] and reports["novosti"]["ok"]
    # a source whose pages all fail is reported, and the command says so by its exit code
    assert not reports["down"]["ok"] and any("HTTP 500" in p for p in reports["down"]["problems"])
    assert result.exit_code == 1


def test_sources_check_names_the_source_and_field_of_a_mistake(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text("sources:\n  - name: akhbar\n    feeds: [akhbar.example/rss]\n", encoding="utf-8")
    result = runner.invoke(app, ["sources", "check", "--sources", str(path)])
    assert result.exit_code == 2
    assert "source 'akhbar' (entry 1), field feeds" in result.stderr
    assert "not an absolute http(s) URL" in result.stderr


def test_sources_check_without_discovery_only_validates(universe, tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text(universe.sources_yaml(), encoding="utf-8")
    result = runner.invoke(app, ["sources", "check", "--sources", str(path), "--no-discover"])
    assert result.exit_code == 0 and "7 source(s) valid" in result.stdout

"""`rasd sources check` on the fixture universe (web sites on loopback; no
Kafka or search engine needed)."""
import json
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from deploy.universe import fixture_universe
from rasd.cli import app
from tests.crawlers.site import RoutedSite

runner = CliRunner()
# the universe's sites are on 127.0.0.N: allowed the way a demo would allow them
ALLOW_LOOPBACK = {"RASD_CRAWL_ALLOWED_NETWORKS": '["127.0.0.0/8"]'}


@pytest.fixture(scope="module")
def universe():
    u = fixture_universe(slow_latency_s=0.0).start()
    yield u
    u.stop()


def test_sources_check_reports_what_each_source_leads_to(universe, tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text(universe.sources_yaml(), encoding="utf-8")
    result = runner.invoke(app, ["sources", "check", "--sources", str(path), "--json"], env=ALLOW_LOOPBACK)
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


@pytest.fixture
def loopback_site() -> Iterator[RoutedSite]:
    site = RoutedSite("127.0.0.1")
    site.routes["/"] = (200, {"Content-Type": "text/html"}, b"<html><body>home</body></html>")
    site.feed("/rss.xml", [site.article("/news/1.html")])
    yield site
    site.stop()


def test_sources_check_refuses_a_loopback_source_unless_it_is_allowed(loopback_site, tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text(f"sources:\n  - name: inside\n    homepage: {loopback_site.url('/')}\n"
                    f"    feeds: [{loopback_site.url('/rss.xml')}]\n", encoding="utf-8")
    refused = runner.invoke(app, ["sources", "check", "--sources", str(path)], env={"RASD_CRAWL_ALLOWED_NETWORKS": "[]"})
    assert refused.exit_code == 1
    assert f"problem: homepage {loopback_site.url('/')}: address_refused: 127.0.0.1 refused (127.0.0.1)" in refused.stdout
    assert f"problem: feed {loopback_site.url('/rss.xml')}: address_refused" in refused.stdout
    assert sum(loopback_site.hits.values()) == 0

    allowed = runner.invoke(app, ["sources", "check", "--sources", str(path), "--json"],
                            env={"RASD_CRAWL_ALLOWED_NETWORKS": '["127.0.0.1/32"]'})
    assert allowed.exit_code == 0, allowed.stdout
    [report] = json.loads(allowed.stdout)
    assert report["ok"] and {"feed": "1 article link(s)"}.items() <= {i["kind"]: i["detail"] for i in report["listings"]}.items()


def test_sources_check_refuses_a_redirect_to_a_refused_address(loopback_site, tmp_path):
    public = RoutedSite("127.0.0.2")
    try:
        feed = public.redirect("/rss.xml", loopback_site.url("/rss.xml"))
        path = tmp_path / "sources.yaml"
        path.write_text(f"sources:\n  - name: moved\n    feeds: [{feed}]\n", encoding="utf-8")
        result = runner.invoke(app, ["sources", "check", "--sources", str(path)],
                               env={"RASD_CRAWL_ALLOWED_NETWORKS": '["127.0.0.2/32"]'})
        assert result.exit_code == 1
        assert f"problem: feed {feed}: address_refused: 127.0.0.1 refused" in result.stdout
        assert public.hits["/rss.xml"] == 1 and sum(loopback_site.hits.values()) == 0
    finally:
        public.stop()

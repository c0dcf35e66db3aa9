from pathlib import Path

import lxml.html
import pytest
import yaml

from crawlers.sources import SourcesFileError, parse_sources
from ingest.source_profiles import ExtractionRules, SourceProfileError, SourceProfiles, load_profiles, parse_profiles

PAGE = """<html><body><div class="menu">القائمة</div>
<div class="story"><p>الفقرة الأولى</p><div class="promo">اشترك في النشرة</div><p>الفقرة الثانية</p></div>
<div data-widget="most-read">الأكثر قراءة</div></body></html>"""


def _text(tree: lxml.html.HtmlElement) -> str:
    return " ".join(t.strip() for t in tree.itertext() if t.strip())


def test_remove_rules_accept_css_and_xpath_and_keep_the_text_around_them():
    tree = lxml.html.fromstring(PAGE)
    counts = ExtractionRules(remove=[".promo", "//div[@data-widget='most-read']"]).apply(tree)
    assert _text(tree) == "القائمة الفقرة الأولى الفقرة الثانية"
    assert counts == {"remove .promo": 1, "remove //div[@data-widget='most-read']": 1}


def test_a_body_rule_keeps_only_the_selected_part_and_a_stale_one_keeps_the_whole_page():
    tree = lxml.html.fromstring(PAGE)
    ExtractionRules(body="div.story").apply(tree)
    assert _text(tree) == "الفقرة الأولى اشترك في النشرة الفقرة الثانية"
    # the site changed its markup: better the general extraction than nothing
    tree = lxml.html.fromstring(PAGE)
    assert ExtractionRules(body="article.gone").apply(tree) == {"body article.gone": 0}
    assert "القائمة" in _text(tree)


@pytest.mark.parametrize(
    "entry, problem",
    [
        ({"name": "a", "extraction": {"remove": ["div[["]}}, "not a valid CSS selector"),
        ({"name": "a", "extraction": {"body": "//div[@"}}, "not a valid XPath"),
        ({"name": "a", "timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"name": "a", "extraction": {"strip": [".x"]}}, "extraction.strip"),
    ],
)
def test_bad_rules_and_time_zones_are_refused_naming_the_source_and_field(entry, problem):
    with pytest.raises(SourceProfileError, match=problem):
        parse_profiles({"sources": [entry]}, "sources.yaml")


def test_the_crawler_validates_the_same_keys_in_the_sources_file():
    entry = {"name": "alofoq", "homepage": "https://alofoq.example/", "timezone": "Asia/Riyadh",
             "extraction": {"remove": [".promo"], "body": "div.story"}}
    (source,) = parse_sources({"sources": [entry]})
    assert source.timezone == "Asia/Riyadh" and source.extraction.body == "div.story"
    with pytest.raises(SourcesFileError, match="timezone"):
        parse_sources({"sources": [{**entry, "timezone": "Nowhere/Else"}]})


def test_profiles_follow_an_edited_file_and_keep_the_last_good_one_when_it_breaks(tmp_path: Path):
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump({"sources": [{"name": "a", "homepage": "https://a.example/", "timezone": "Asia/Baku"}]}))
    profiles = SourceProfiles(path)
    assert profiles.get("a").zone.key == "Asia/Baku"  # type: ignore[union-attr]
    path.write_text(yaml.safe_dump({"sources": [{"name": "a", "timezone": "Africa/Cairo"}, {"name": "b"}]}))
    profiles.refresh()
    assert profiles.get("a").timezone == "Africa/Cairo" and profiles.get("b") is not None  # type: ignore[union-attr]
    path.write_text("sources: [ {name: a, timezone: Nowhere/Else} ]")
    profiles.refresh()
    assert profiles.get("a").timezone == "Africa/Cairo"  # type: ignore[union-attr]
    assert "unknown time zone" in (profiles.last_error or "")


def test_no_sources_file_means_no_profiles(tmp_path: Path):
    assert SourceProfiles(None).get("a") is None
    with pytest.raises(SourceProfileError, match="cannot read"):
        load_profiles(tmp_path / "missing.yaml")

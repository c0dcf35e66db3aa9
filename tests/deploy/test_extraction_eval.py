"""The shipped extraction evaluation set (deploy/extraction_eval): its shape,
and one run of `rasd eval extraction` over all of it. The quality targets are
not asserted here; the run only has to score every page consistently."""
from __future__ import annotations

import json
import re
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ingest.evaluation import METADATA_FIELDS, EvalReport, normalize
from rasd.cli import app
from rasd.extract_cli import shipped_set

PAGES = shipped_set() / "pages"
README = (shipped_set() / "README.md").read_text("utf-8")
NAMES = sorted(p.stem for p in PAGES.glob("*.html"))
LANGUAGES = {"ar", "fa", "en", "fr", "ru"}


def meta(name: str) -> dict:
    return json.loads((PAGES / f"{name}.json").read_text("utf-8"))


def expected_lines(name: str) -> list[str]:
    return (PAGES / f"{name}.txt").read_text("utf-8").splitlines()


def test_the_set_has_at_least_44_pages_each_with_text_and_metadata():
    assert len(NAMES) >= 44
    for name in NAMES:
        assert (PAGES / f"{name}.txt").is_file(), name
        assert (PAGES / f"{name}.json").is_file(), name
    assert sorted(p.stem for p in PAGES.glob("*.txt")) == NAMES


def test_every_page_declares_title_date_language_url_and_a_layout_the_readme_describes():
    described = set(re.findall(r"^\| `(\w+)` \|", README, flags=re.M))
    for name in NAMES:
        m = meta(name)
        assert m["title"].strip() and m["url"].startswith("https://"), name
        published = datetime.fromisoformat(m["published"])
        assert published.utcoffset() is not None and published.second == 0, name
        assert m["language"] in LANGUAGES, name
        assert m["layout"] in described, name


def test_at_least_nine_layouts_all_five_languages_and_mostly_arabic():
    layouts = Counter(meta(n)["layout"] for n in NAMES)
    languages = Counter(meta(n)["language"] for n in NAMES)
    assert len(layouts) >= 9 and min(layouts.values()) >= 3
    assert set(languages) == LANGUAGES
    assert languages["ar"] > len(NAMES) / 2


def test_expected_texts_are_clean_paragraphs_that_appear_on_their_page():
    for name in NAMES:
        lines = expected_lines(name)
        assert len(lines) >= 3 and all(line.strip() == line and line for line in lines), name
        html = (PAGES / f"{name}.html").read_bytes()
        if "windows-1256" in meta(name)["encoding"].split(";")[0]:
            html_text = html.decode("cp1256")
        else:
            html_text = html.decode("utf-8")
        flat = normalize(html_text.replace("&quot;", '"').replace("&#x27;", "'"))
        for line in lines:
            assert normalize(line) in flat or json.dumps(line, ensure_ascii=False)[1:-1] in html_text, (name, line)


@pytest.mark.parametrize("name", ["ar-br-cp1256-rain", "ar-table-cp1256-council", "ar-table-cp1256-poetry"])
def test_windows_1256_pages_are_stored_as_served_with_the_charset_only_in_a_meta_tag(name):
    html = (PAGES / f"{name}.html").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        html.decode("utf-8")
    assert b"charset=windows-1256" in html
    assert expected_lines(name)[0] in html.decode("cp1256")


def test_the_mislabelled_page_is_utf8_whose_meta_says_windows_1256():
    html = (PAGES / "ar-divsoup-mislabelled-charset.html").read_bytes()
    assert b"charset=windows-1256" in html
    assert expected_lines("ar-divsoup-mislabelled-charset")[0] in html.decode("utf-8")


def test_rasd_eval_extraction_scores_every_page_of_the_set(tmp_path: Path):
    out = tmp_path / "report.json"
    result = CliRunner().invoke(app, ["eval", "extraction", "--json-out", str(out)])
    assert result.exit_code == 0, result.output
    report = EvalReport.model_validate_json(out.read_text("utf-8"))
    assert [p.name for p in report.pages] == NAMES
    t = report.totals
    assert t.pages == len(NAMES)
    for page in report.pages:
        assert page.url == meta(page.name)["url"] and page.layout == meta(page.name)["layout"]
        assert set(page.metadata) == set(METADATA_FIELDS), page.name
        s = page.score
        assert 0.0 <= s.precision <= 1.0 and 0.0 <= s.recall <= 1.0 and 0.0 <= s.f1 <= 1.0
        assert s.expected_tokens == sum(len(line.split()) for line in expected_lines(page.name))
        assert set(s.dropped_paragraphs) <= {normalize(line) for line in expected_lines(page.name)}
        assert f"\n{page.name} " in f"\n{result.stdout}", page.name
    assert t.leaked_lines == sum(len(p.score.leaked_lines) for p in report.pages)
    assert t.dropped_paragraphs == sum(len(p.score.dropped_paragraphs) for p in report.pages)
    assert t.errors == sum(p.error is not None for p in report.pages)
    for field in METADATA_FIELDS:
        acc = t.metadata[field]
        assert acc.checked == len(NAMES)
        assert acc.correct == sum(p.metadata[field].ok for p in report.pages)
    assert f"leaked lines {t.leaked_lines} " in result.stdout
    # the figures the targets are judged on, for whoever runs this
    print(f"\nextraction eval: pages {t.pages}, F1 {t.f1:.3f}, leaked lines {t.leaked_lines}, "
          f"dropped paragraphs {t.dropped_paragraphs}, merged lines {t.merged_lines}, "
          + ", ".join(f"{k} {v.correct}/{v.checked}" for k, v in t.metadata.items()))


def test_on_the_set_no_paragraph_is_dropped_and_titles_and_languages_are_right():
    """The targets of issue 7 that the extraction meets today, held so that
    no change loses them. Still open (not asserted here): leaked lines (9,
    all site promotions that only per-site learning removes: the set is
    scored page by page) and published dates (34/44: pages whose only date
    is local-time text need the site's time zone)."""
    from ingest.settings import Settings
    from rasd.extract_cli import run_eval

    totals = run_eval(shipped_set(), min_chars=Settings().min_article_chars).totals
    assert totals.errors == 0
    assert totals.dropped_paragraphs == 0
    assert totals.metadata["title"].accuracy >= 0.95
    assert totals.metadata["language"].accuracy >= 0.95
    assert totals.leaked_lines <= 9

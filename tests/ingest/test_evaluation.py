"""Scoring one page against its expected paragraphs and metadata, and a
whole folder with a stand-in extractor (no trafilatura: the scoring alone)."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from ingest.evaluation import EvalReport, EvalSetError, PageContext, check_metadata, evaluate_dir, score_page

BODY = [
    "أعلن المجلس البلدي عن خطة جديدة لتنظيم حركة السير في وسط المدينة.",
    "وقال رئيس المجلس إن الخطة تبدأ مطلع الشهر المقبل.",
    "ورحب التجار بالقرار.",
]


def test_perfect_extraction_scores_one_with_nothing_leaked_or_dropped():
    score = score_page("\n".join(BODY), BODY)
    assert (score.precision, score.recall, score.f1) == (1.0, 1.0, 1.0)
    assert score.leaked_lines == [] and score.dropped_paragraphs == [] and score.merged_lines == []


def test_a_furniture_line_is_leaked_and_lowers_precision_only():
    score = score_page("\n".join([BODY[0], "اقرأ أيضا: عنوان آخر", *BODY[1:]]), BODY)
    assert score.leaked_lines == ["اقرأ أيضا: عنوان آخر"]
    assert score.dropped_paragraphs == []
    assert score.recall == 1.0 and score.precision < 1.0


def test_a_missing_paragraph_is_dropped_and_lowers_recall_only():
    score = score_page("\n".join([BODY[0], BODY[2]]), BODY)
    assert score.dropped_paragraphs == [BODY[1]]
    assert score.leaked_lines == []
    assert score.precision == 1.0 and score.recall < 1.0


def test_a_paragraph_cut_short_is_dropped_though_its_words_are_not_leaked():
    score = score_page("\n".join([BODY[0], "وقال رئيس المجلس", BODY[2]]), BODY)
    assert score.dropped_paragraphs == [BODY[1]]
    assert score.leaked_lines == []


def test_a_paragraph_split_over_two_lines_is_whole_and_not_leaked():
    words = BODY[0].split(" ")
    first, second = " ".join(words[:4]), " ".join(words[4:])  # a <br> inside the paragraph
    score = score_page("\n".join([first, second, *BODY[1:]]), BODY)
    assert score.dropped_paragraphs == [] and score.leaked_lines == []


def test_paragraphs_run_together_are_merged_not_leaked():
    score = score_page(" ".join(BODY), BODY)
    assert score.merged_lines == [" ".join(BODY)]
    assert score.leaked_lines == [] and score.dropped_paragraphs == []


def test_a_line_mixing_body_and_furniture_is_leaked():
    score = score_page(f"{BODY[0]} إعلان\n{BODY[1]}\n{BODY[2]}", BODY)
    assert score.leaked_lines == [f"{BODY[0]} إعلان"]


def test_text_in_another_unicode_form_and_spacing_matches():
    decomposed = "Cafe\u0301 de   la  gare ferme ses portes."
    score = score_page(decomposed, ["Café de la gare ferme ses portes."])
    assert score.f1 == 1.0 and score.leaked_lines == [] and score.dropped_paragraphs == []


def test_empty_extraction_drops_everything():
    score = score_page("", BODY)
    assert (score.precision, score.recall, score.f1) == (0.0, 0.0, 0.0)
    assert score.dropped_paragraphs == BODY


def test_published_matches_to_the_minute_in_utc_whatever_the_offset():
    expected = {"published": "2026-11-12T14:35:00+03:00"}
    assert check_metadata(expected, {"published_at": "2026-11-12T11:35:42Z"})["published"].ok
    assert check_metadata(expected, {"published_at": datetime(2026, 11, 12, 11, 35, tzinfo=timezone.utc)})["published"].ok
    assert not check_metadata(expected, {"published_at": "2026-11-12T00:00:00Z"})["published"].ok
    assert not check_metadata(expected, {"published_at": None})["published"].ok


def test_title_is_compared_after_whitespace_normalization_and_language_exactly():
    checks = check_metadata({"title": "عنوان  الخبر", "language": "ar"}, {"title": " عنوان الخبر\n", "language": "fa"})
    assert checks["title"].ok
    assert not checks["language"].ok and checks["language"].got == "fa"


def test_only_expected_fields_are_checked():
    assert set(check_metadata({"title": "x"}, {"title": "x", "language": "en"})) == {"title"}


def _write_page(folder: Path, name: str, paragraphs: list[str], meta: dict | None = None) -> None:
    (folder / f"{name}.html").write_text("<p>" + "</p><p>".join(paragraphs) + "</p>", "utf-8")
    (folder / f"{name}.txt").write_text("\n".join(paragraphs) + "\n", "utf-8")
    if meta is not None:
        (folder / f"{name}.json").write_text(json.dumps(meta, ensure_ascii=False), "utf-8")


def test_evaluate_dir_scores_every_page_and_totals_them(tmp_path):
    pages = tmp_path / "pages"
    pages.mkdir()
    _write_page(pages, "good", BODY, {"title": "t", "published": "2026-11-12T14:35:00+03:00", "language": "ar",
                                      "url": "https://news.example/a/1", "layout": "semantic"})
    _write_page(pages, "leaky", BODY[:2], {"title": "t2", "language": "ar"})
    _write_page(pages, "broken", BODY[1:])
    seen: dict[str, str] = {}

    def fake_extract(body: bytes, page: PageContext) -> dict:
        url = page.url
        seen[url] = body.decode()
        if "news.example" in url:
            return {"text": "\n".join(BODY), "title": "t", "published_at": "2026-11-12T11:35:00Z", "language": "ar"}
        if url.endswith("/leaky"):
            return {"text": "الرئيسية\n" + BODY[0], "title": "t2 | site", "published_at": None, "language": "ar"}
        raise RuntimeError("parser crashed")

    report = evaluate_dir(tmp_path, fake_extract)  # the set's folder: its pages/ are found
    assert set(seen) == {"https://news.example/a/1", "https://eval.local/leaky", "https://eval.local/broken"}
    by_name = {p.name: p for p in report.pages}
    assert by_name["good"].score.f1 == 1.0 and by_name["good"].layout == "semantic"
    assert all(c.ok for c in by_name["good"].metadata.values())
    assert by_name["leaky"].score.leaked_lines == ["الرئيسية"]
    assert by_name["leaky"].score.dropped_paragraphs == [BODY[1]]
    assert not by_name["leaky"].metadata["title"].ok
    assert by_name["broken"].error == "RuntimeError: parser crashed" and by_name["broken"].metadata == {}
    t = report.totals
    assert (t.pages, t.errors, t.leaked_lines, t.dropped_paragraphs) == (3, 1, 1, 3)
    assert (t.pages_with_leaks, t.pages_with_drops) == (1, 2)
    assert (t.metadata["title"].checked, t.metadata["title"].correct) == (2, 1)
    assert t.metadata["published"].accuracy == 1.0
    # the report survives a JSON round trip unchanged
    assert EvalReport.model_validate_json(report.model_dump_json()) == report


def test_a_page_without_expected_text_is_refused(tmp_path):
    (tmp_path / "orphan.html").write_text("<p>x</p>", "utf-8")
    with pytest.raises(EvalSetError, match="orphan.txt"):
        evaluate_dir(tmp_path, lambda body, page: {})


def test_a_folder_without_pages_is_refused(tmp_path):
    with pytest.raises(EvalSetError, match="no NAME.html"):
        evaluate_dir(tmp_path, lambda body, page: {})

"""The pure parts of site-boilerplate learning: line keys, which lines are
candidates, and removing known lines from a body."""
from datetime import datetime, timezone
from typing import NoReturn

import pytest
import structlog

from ingest import boilerplate
from ingest.boilerplate import MAX_LINE_WORDS, candidate_lines, doc_id, line_key, normalize_line, remove_lines
from ingest.models import Article
from ingest.settings import Settings

PROMO = "احصل على خصم 30% على باقات الإنترنت المنزلي عند الاشتراك هذا الشهر."
PARAGRAPH = "قال وزير المالية إن الموازنة الجديدة تتضمن زيادة في الإنفاق على التعليم والصحة."


def test_a_line_keeps_its_key_whatever_its_tatweel_diacritics_spacing_and_case():
    assert line_key("احصـــل  على خصمٍ كبيرٍ") == line_key("احصل على خصم كبير")
    assert line_key("  Switch to our FIBRE\tbroadband ") == line_key("switch to our fibre broadband")
    # NFC: a precomposed é and e + combining accent are the same letter
    assert line_key("Profitez de l'offre d\u00e9j\u00e0") == line_key("Profitez de l'offre de\u0301ja\u0300")
    assert normalize_line("Ｘ  Y") == "ｘ y"


def test_different_lines_have_different_keys():
    assert line_key(PROMO) != line_key(PARAGRAPH)
    assert len(line_key(PROMO)) == 40


def test_the_document_id_depends_on_the_domain():
    key = line_key(PROMO)
    assert doc_id("alkhabar.example", key) != doc_id("other.example", key)
    assert doc_id("alkhabar.example", key) == doc_id("alkhabar.example", key)
    # the separator keeps "ab" + "c..." apart from "a" + "bc..."
    assert doc_id("ab", "c" + key[1:]) != doc_id("a", "bc" + key[2:])


def test_candidates_are_the_short_non_empty_lines_with_letters_once_each_in_order():
    long_paragraph = " ".join(["كلمة"] * (MAX_LINE_WORDS + 1))
    at_limit = " ".join(["word"] * MAX_LINE_WORDS)
    body = "\n".join([PARAGRAPH, "", "   ", PROMO, "10:30", "* * *", long_paragraph, at_limit, "احصـل على خصم 30% على باقات الإنترنت المنزلي عند الاشتراك هذا الشهر."])
    assert candidate_lines(body) == [PARAGRAPH, PROMO, at_limit]


def test_removing_known_lines_keeps_the_other_lines_in_order():
    body = f"{PARAGRAPH}\n{PROMO}\nالفقرة الثانية من الخبر.\nاحصـل على خصم 30% على باقات الإنترنت المنزلي عند الاشتراك هذا الشهر."
    text, removed = remove_lines(body, frozenset({line_key(PROMO)}))
    assert text == f"{PARAGRAPH}\nالفقرة الثانية من الخبر."
    assert removed == 2


def test_removing_nothing_returns_the_body_unchanged():
    body = f"{PROMO}\n{PARAGRAPH}"
    assert remove_lines(body, frozenset()) == (body, 0)
    assert remove_lines(body, frozenset({line_key("another line")})) == (body, 0)


def test_a_long_paragraph_is_never_removed_even_if_its_key_is_known():
    long_paragraph = " ".join(["كلمة"] * (MAX_LINE_WORDS + 1))
    body = f"{long_paragraph}\n{PROMO}"
    assert remove_lines(body, frozenset({line_key(long_paragraph), line_key(PROMO)})) == (long_paragraph, 1)


def _article(n: int) -> Article:
    when = datetime(2026, 11, 18, 9, 0, tzinfo=timezone.utc)
    url = f"https://alkhabar.example/news/{n}.html"
    return Article(id=str(n), url=url, fetched_url=url, source="alkhabar", domain="alkhabar.example",
                   body=f"{PARAGRAPH} {n}\n{PROMO}", fetched_at=when, extracted_at=when)


@pytest.mark.parametrize("reconnect_after_s", [30.0, 0.0])
def test_an_unreachable_engine_lets_articles_through_unfiltered_with_one_warning_per_outage(
    monkeypatch: pytest.MonkeyPatch, reconnect_after_s: float
) -> None:
    monkeypatch.setattr(boilerplate, "RECONNECT_AFTER_S", reconnect_after_s)
    # nothing listens on the discard port: the connection is refused at once
    down = Settings(search_url="http://127.0.0.1:9")
    site = boilerplate.SiteBoilerplate(down)
    pages = [_article(n) for n in range(1, 7)]
    with structlog.testing.capture_logs() as logs:
        batches = [site.clean(pages) for _ in range(3)]
    site.close()
    assert all(c.removed_lines == 0 and c.article == page for batch in batches for c, page in zip(batch, pages))
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == ["boilerplate_store_unavailable"]


def test_an_empty_batch_needs_no_store() -> None:
    def never(settings: Settings) -> NoReturn:
        raise AssertionError("connected for nothing")

    assert boilerplate.SiteBoilerplate(Settings(), connect=never).clean([]) == []

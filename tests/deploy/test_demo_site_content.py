"""Bundled demo-site content and the large-site generator (no HTTP)."""
from __future__ import annotations

import time
from datetime import datetime

import pytest

from deploy.demo_site import SIDEBAR_ONLY_WORD, DemoArticle, DemoSite, generate_articles, load_articles
from deploy.demo_site.content import SEED_SLUG, load_furniture, load_private_article, read_seed_text


def _words(article: DemoArticle) -> int:
    return len(article.text.split())


def test_seed_article_is_the_bundled_interview_line_by_line() -> None:
    seed = next(a for a in load_articles() if a.slug == SEED_SLUG)
    assert seed.paragraphs == read_seed_text().splitlines()
    assert len(seed.paragraphs) > 40
    assert "كاراباخ" in seed.text
    assert seed.section == "politics" and seed.title and seed.author


def test_original_articles_are_4_to_8_paragraphs_of_150_to_400_words() -> None:
    originals = [a for a in load_articles() if a.slug != SEED_SLUG]
    assert len(originals) >= 5
    for article in originals:
        assert 4 <= len(article.paragraphs) <= 8, article.slug
        assert 150 <= _words(article) <= 400, (article.slug, _words(article))


def test_articles_cover_the_required_sections_and_spellings() -> None:
    articles = load_articles()
    assert {"politics", "economy", "sport", "culture", "technology"} <= {a.section for a in articles}
    bodies = [a.text for a in articles if a.slug != SEED_SLUG]
    assert any("قره باغ" in body for body in bodies)
    assert any("Qarabağ" in body for body in bodies)
    assert any("بأذربيجان" in body and "لأذربيجان" in body for body in bodies)
    assert len({a.slug for a in articles}) == len(articles)
    assert len({a.path for a in articles}) == len(articles)


def test_exactly_one_article_is_windows_1256_and_encodes_losslessly() -> None:
    legacy = [a for a in load_articles() if a.encoding != "utf-8"]
    assert [a.encoding for a in legacy] == ["windows-1256"]
    article = legacy[0]
    for text in [article.title, article.summary, article.image_caption, *article.paragraphs]:
        assert text.encode("windows-1256").decode("windows-1256") == text


def test_sidebar_only_word_is_in_the_sidebar_and_in_no_article_body() -> None:
    assert any(SIDEBAR_ONLY_WORD in item for item in load_furniture()["most_read"]["items"])
    every = load_articles() + generate_articles(300) + [load_private_article()]
    for article in every:
        assert SIDEBAR_ONLY_WORD not in article.text, article.slug
        assert SIDEBAR_ONLY_WORD not in article.title, article.slug


def test_article_paths_follow_the_news_date_slug_pattern() -> None:
    for article in load_articles():
        expected = f"/news/{article.published_at:%Y/%m}/{article.slug}.html"
        assert article.path == expected
        assert article.published_at.tzinfo is not None


def test_private_draft_lives_under_the_disallowed_prefix() -> None:
    assert load_private_article().path.startswith("/private/")


def test_naive_publication_time_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        DemoArticle(slug="x", section="politics", title="t", paragraphs=["p"],
                    published_at=datetime(2024, 5, 1), author="a")


def test_article_without_paragraphs_is_rejected() -> None:
    aware = load_articles()[0].published_at
    with pytest.raises(ValueError, match="no paragraphs"):
        DemoArticle(slug="x", section="politics", title="t", paragraphs=[], published_at=aware, author="a")


def test_generate_1000_articles_is_fast_and_all_distinct() -> None:
    started = time.perf_counter()
    articles = generate_articles(1000)
    elapsed = time.perf_counter() - started
    assert elapsed < 1.0, elapsed
    assert len(articles) == 1000
    for attribute in ("slug", "title", "path", "published_at", "text"):
        assert len({getattr(a, attribute) for a in articles}) == 1000, attribute
    assert not {a.slug for a in articles} & {a.slug for a in load_articles()}


def test_generated_articles_recombine_bundled_paragraphs() -> None:
    bundled = {p for a in load_articles() for p in a.paragraphs}
    for article in generate_articles(50):
        assert 5 <= len(article.paragraphs) <= 9
        # first paragraph is the unique dateline, the rest is bundled writing
        assert article.paragraphs[0] not in bundled
        assert set(article.paragraphs[1:]) <= bundled
        assert article.section in load_furniture().sections


def test_generation_is_deterministic_per_seed() -> None:
    assert generate_articles(20, seed=7) == generate_articles(20, seed=7)
    assert [a.text for a in generate_articles(20, seed=7)] != [a.text for a in generate_articles(20, seed=8)]


def test_generate_beyond_the_title_combinations_stays_unique() -> None:
    articles = generate_articles(2000)
    assert len({a.title for a in articles}) == 2000
    assert len({a.path for a in articles}) == 2000


def test_negative_count_is_rejected() -> None:
    with pytest.raises(ValueError):
        generate_articles(-1)


def test_site_rejects_articles_sharing_a_path() -> None:
    article = load_articles()[1]
    with pytest.raises(ValueError, match="distinct paths"):
        DemoSite([article, article])

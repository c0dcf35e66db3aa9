from datetime import datetime, timezone

import pytest

from ingest.extraction import ExtractionError, decode_html, extract_article, is_html
from ingest.identity import document_id
from tests.ingest.pages import PARAGRAPHS, article_html, fetched_page


def test_article_body_is_the_paragraphs_in_order_without_furniture():
    article = extract_article(fetched_page(article_html()), min_chars=100)
    assert article.body.split("\n") == PARAGRAPHS
    assert article.title == "محادثات جديدة بين أذربيجان وأرمينيا"
    assert article.language == "ar"


def test_published_date_comes_from_the_page_with_time_and_zone():
    article = extract_article(fetched_page(article_html()), min_chars=100)
    assert article.published_at == datetime(2024, 3, 5, 7, 20, tzinfo=timezone.utc)
    assert article.date_source == "page"


def test_feed_date_is_the_fallback_when_the_page_has_none():
    feed_date = datetime(2024, 3, 4, 22, 0, tzinfo=timezone.utc)
    page = fetched_page(article_html(published=None), url="https://news.example/x/talks", hint_published_at=feed_date)
    article = extract_article(page, min_chars=100)
    assert article.published_at == feed_date
    assert article.date_source == "feed"


def test_id_comes_from_the_canonical_link_without_tracking_parameters():
    article = extract_article(fetched_page(article_html(), url="https://news.example/article.php?id=7"), min_chars=100)
    assert article.url == "https://news.example/news/2024/03/talks.html"
    assert article.id == document_id("https://news.example/news/2024/03/talks.html")
    assert article.fetched_url == "https://news.example/article.php?id=7"


def test_canonical_link_to_another_site_is_ignored():
    page = fetched_page(article_html(canonical="https://aggregator.example/copy/1"))
    article = extract_article(page, min_chars=100)
    assert article.domain == "news.example"
    assert article.url == "https://news.example/news/2024/03/talks.html"


def test_windows_1256_page_is_decoded_from_the_http_charset():
    html = article_html(charset="windows-1256").encode("cp1256")
    with pytest.raises(UnicodeDecodeError):
        html.decode("utf-8")
    article = extract_article(fetched_page(html, content_type="text/html; charset=windows-1256"), min_chars=100)
    assert article.body.split("\n") == PARAGRAPHS


def test_windows_1256_page_is_decoded_from_meta_charset_when_the_header_has_none():
    html = article_html(charset="windows-1256").encode("cp1256")
    assert decode_html(html, "text/html").count("أذربيجان") >= 1


def test_non_html_response_is_refused_as_not_html():
    with pytest.raises(ExtractionError) as err:
        extract_article(fetched_page(b"%PDF-1.4 ...", content_type="application/pdf"), min_chars=100)
    assert err.value.reason == "not_html"
    assert "application/pdf" in err.value.detail


def test_page_of_furniture_only_is_refused_as_empty_extraction():
    with pytest.raises(ExtractionError) as err:
        extract_article(fetched_page(article_html(paragraphs=[])), min_chars=100)
    assert err.value.reason == "empty_extraction"


def test_corrupt_compressed_body_is_refused_as_undecodable():
    page = fetched_page(article_html()).model_copy(update={"body_zstd": b"not zstd at all"})
    with pytest.raises(ExtractionError) as err:
        extract_article(page, min_chars=100)
    assert err.value.reason == "undecodable"


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [("text/html; charset=utf-8", True), ("application/xhtml+xml", True), (None, True),
     ("application/pdf", False), ("image/jpeg", False), ("TEXT/HTML", True)],
)
def test_is_html_accepts_html_types_and_a_missing_header(content_type, expected):
    assert is_html(content_type) is expected

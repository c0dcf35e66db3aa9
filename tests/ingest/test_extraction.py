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
    assert article.origins["published_at"] == "meta"


def test_feed_date_is_the_fallback_when_the_page_has_none():
    feed_date = datetime(2024, 3, 4, 22, 0, tzinfo=timezone.utc)
    page = fetched_page(article_html(published=None), url="https://news.example/x/talks", hint_published_at=feed_date)
    article = extract_article(page, min_chars=100)
    assert article.published_at == feed_date
    assert article.origins["published_at"] == "feed"


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


RICH_HEAD = """<meta property="og:site_name" content="أخبار المثال">
<meta property="article:section" content="سياسة">
<meta property="article:tag" content="أذربيجان"><meta property="article:tag" content="أرمينيا">
<meta property="og:image" content="https://news.example/img/talks.jpg">
<meta property="article:modified_time" content="2024-03-05T12:00:00+03:00">
<script type="application/ld+json">{"@context": "https://schema.org", "@type": "NewsArticle",
 "author": [{"@type": "Person", "name": "سارة حداد"}, {"@type": "Person", "name": "علي مراد"}]}</script>"""


def test_article_v2_carries_site_section_tags_image_authors_modified_and_where_each_came_from():
    html = article_html(canonical="https://news.example/a/talks").replace("</head>", RICH_HEAD + "</head>")
    article = extract_article(fetched_page(html), min_chars=100)
    assert (article.site_name, article.section, article.tags) == ("أخبار المثال", "سياسة", ["أذربيجان", "أرمينيا"])
    assert article.image == "https://news.example/img/talks.jpg"
    assert article.authors == ["سارة حداد", "علي مراد"]
    assert article.modified_at == datetime(2024, 3, 5, 9, 0, tzinfo=timezone.utc)
    assert article.word_count == sum(len(p.split()) for p in PARAGRAPHS)
    assert article.charset == "utf-8"
    origins = article.origins
    assert origins["site_name"] == "meta" and origins["section"] == "meta" and origins["tags"] == "meta"
    assert origins["authors"] == "jsonld" and origins["published_at"] == "meta" and origins["modified_at"] == "meta"
    assert origins["charset"] == "http" and origins["language"] == "text" and origins["url"] == "link"


def test_normalized_copies_sit_beside_the_unchanged_original():
    html = article_html([p.replace("أذربيجان", "أَذْرَبيجـان") for p in PARAGRAPHS])
    article = extract_article(fetched_page(html), min_chars=100)
    assert "أَذْرَبيجـان" in article.body  # the original is never changed
    assert "اذربيجان" in article.body_norm and "أ" not in article.body_norm
    assert article.title_norm == "محادثات جديده بين اذربيجان وارمينيا"
    plain = extract_article(fetched_page(article_html()), min_chars=100)
    # the same text with or without diacritics and tatweel is an exact duplicate
    assert article.content_hash == plain.content_hash and len(plain.content_hash) == 64


def test_a_naive_page_time_is_read_in_the_sources_time_zone():
    from ingest.source_profiles import SourceProfile

    html = article_html(published="2024-03-05T10:20:00")
    utc_read = extract_article(fetched_page(html), min_chars=100)
    riyadh = extract_article(fetched_page(html), min_chars=100, profile=SourceProfile(name="s", timezone="Asia/Riyadh"))
    assert utc_read.published_at == datetime(2024, 3, 5, 10, 20, tzinfo=timezone.utc)
    assert riyadh.published_at == datetime(2024, 3, 5, 7, 20, tzinfo=timezone.utc)


def test_source_rules_remove_what_the_general_extraction_keeps():
    from ingest.source_profiles import ExtractionRules, SourceProfile

    promo = "<p>احصل على خصم ثلاثين بالمئة على اشتراك الإنترنت المنزلي هذا الشهر فقط من شركتنا الراعية</p>"
    html = article_html().replace("</article>", promo + "</article>")
    plain = extract_article(fetched_page(html), min_chars=100)
    assert "خصم ثلاثين" in plain.body
    profile = SourceProfile(name="s", extraction=ExtractionRules(remove=["//article/p[contains(., 'خصم')]"]))
    ruled = extract_article(fetched_page(html), min_chars=100, profile=profile)
    assert ruled.body.split("\n") == PARAGRAPHS and ruled.origins["body"] == "source_rules"


def test_a_page_over_the_size_limit_is_too_large():
    with pytest.raises(ExtractionError) as info:
        extract_article(fetched_page(article_html()), min_chars=100, max_page_bytes=1000)
    assert (info.value.reason, info.value.classification) == ("too_large", "too_large")


@pytest.mark.parametrize("name", [p.name for p in __import__("deploy.cluster_corpus", fromlist=["pages"]).pages()])
def test_the_cluster_corpus_pages_extract_to_exactly_their_paragraphs(name):
    # four more layouts nobody tuned the extraction on: a header table of
    # menu links and a section kicker above the headline must stay out
    from deploy.cluster_corpus import page

    p = page(name)
    article = extract_article(fetched_page(p.html, url=p.url, content_type="text/html"), min_chars=100)
    assert article.body == p.text and article.title == p.headline

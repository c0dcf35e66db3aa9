"""Hostile and broken pages through the ingest stage's own extraction call
(``extract_article`` with the limits the worker passes it): each ends as an
article or as the dead-letter reason, class and kind the worker would send,
in bounded time and memory. The same pages on real Kafka, between good ones,
are in test_hostile_messages.py.

Already covered elsewhere, not repeated here:
- test_decoding.py: every decoding rule on bare bytes (windows-1256 and
  ISO-8859-6 from detection or the meta tag, valid UTF-8 beating a lying meta
  tag or a single-byte HTTP charset, UTF-16 BOMs, unknown charsets, binary
  bodies decoded leniently with the lost bytes counted) and
  test_extract_article_is_not_mojibake_when_the_meta_tag_lies;
- test_extraction.py: test_windows_1256_page_is_decoded_from_the_http_charset,
  ..._from_meta_charset_when_the_header_has_none,
  test_non_html_response_is_refused_as_not_html,
  test_page_of_furniture_only_is_refused_as_empty_extraction,
  test_corrupt_compressed_body_is_refused_as_undecodable,
  test_a_page_over_the_size_limit_is_too_large;
- test_classify.py: test_nextjs_shell_without_server_rendered_text_is_empty,
  test_react_root_shell_is_empty, test_unparseable_and_blank_bodies,
  test_binary_file_served_as_html_is_sniffed_and_fails (PNG, PDF),
  test_binary_kind_recognises_magic_numbers, test_binary_kind_leaves_text_alone,
  test_broken_html_article_is_an_article, test_a_huge_listing_is_classified_in_well_under_a_second;
- test_worker.py: test_each_kind_of_bad_page_is_dead_lettered_with_its_class_and_only_articles_go_on
  (tag, section, gallery, video, paywall, Next.js shell, cookie banner, PNG
  and PDF as HTML, a page over the size limit, on Kafka).
"""
from __future__ import annotations

import time
import tracemalloc
from dataclasses import dataclass

import pytest
import zstandard

from ingest.extraction import MAX_ELEMENTS, ExtractionError, extract_article
from ingest.models import Article, FetchedPage
from ingest.settings import Settings
from tests.ingest.pages import PARAGRAPHS, article_html, fetched_page, zstd_bomb

SETTINGS = Settings()
TITLE = "محادثات جديدة بين أذربيجان وأرمينيا"


def ingest(page: FetchedPage, settings: Settings = SETTINGS) -> Article:
    """The page through the ingest worker's extraction call (ingest.worker.extract_record)."""
    return extract_article(page, min_chars=settings.min_article_chars, max_page_bytes=settings.crawl_max_page_bytes)


def refused(page: FetchedPage, settings: Settings = SETTINGS) -> ExtractionError:
    with pytest.raises(ExtractionError) as info:
        ingest(page, settings)
    return info.value


def page(body: str | bytes, content_type: str | None = "text/html") -> FetchedPage:
    return fetched_page(body, url="https://hostile.example/news/1.html", content_type=content_type)


def undeclared() -> str:
    """The article page with no charset anywhere in it."""
    return article_html().replace('<meta charset="utf-8">', "")


# --- bytes that lie about their encoding ------------------------------------------


@dataclass(frozen=True)
class Encoded:
    body: bytes
    content_type: str | None
    charset: str
    origin: str


ENCODINGS = {
    "windows_1256_without_any_charset": Encoded(undeclared().encode("cp1256"), "text/html", "cp1256", "detected"),
    "iso_8859_6_without_any_charset": Encoded(undeclared().encode("iso8859-6"), "text/html", "iso8859-6", "detected"),
    "meta_says_utf8_bytes_are_windows_1256": Encoded(article_html(charset="utf-8").encode("cp1256"), "text/html",
                                                     "cp1256", "detected"),
    "http_says_windows_1256_bytes_are_utf8": Encoded(undeclared().encode(), "text/html; charset=windows-1256",
                                                     "utf-8", "utf8"),
    "http_says_utf8_bytes_are_windows_1256_as_the_meta_says": Encoded(
        article_html(charset="windows-1256").encode("cp1256"), "text/html; charset=utf-8", "cp1256", "meta"),
    "utf8_bom_without_a_charset": Encoded(b"\xef\xbb\xbf" + undeclared().encode(), None, "utf-8", "bom"),
    "utf8_bom_under_an_http_charset_of_windows_1256": Encoded(
        b"\xef\xbb\xbf" + undeclared().encode(), "text/html; charset=windows-1256", "utf-8", "bom"),
    "utf16_le_bom": Encoded("\ufeff".encode("utf-16-le") + undeclared().encode("utf-16-le"), "text/html",
                            "utf-16-le", "bom"),
    "utf16_be_bom": Encoded("\ufeff".encode("utf-16-be") + undeclared().encode("utf-16-be"), "text/html",
                            "utf-16-be", "bom"),
}


@pytest.mark.parametrize("case", list(ENCODINGS))
def test_an_article_whose_encoding_is_undeclared_or_misdeclared_is_read_without_mojibake(case: str) -> None:
    encoded = ENCODINGS[case]
    article = ingest(page(encoded.body, encoded.content_type))
    assert (article.charset, article.origins["charset"]) == (encoded.charset, encoded.origin)
    assert article.body.split("\n") == PARAGRAPHS
    assert article.title == TITLE and article.language == "ar"


# Python has codecs by these names, none of them a text encoding (or one
# that refuses to decode at all): a page declaring one is read as if it
# declared nothing.
NOT_TEXT_CODECS = ["base64", "zlib_codec", "rot13", "hex", "idna", "punycode", "undefined"]


@pytest.mark.parametrize("codec", NOT_TEXT_CODECS)
def test_an_http_charset_naming_a_codec_that_is_no_text_encoding_is_ignored(codec: str) -> None:
    article = ingest(page(undeclared().encode(), f"text/html; charset={codec}"))
    assert (article.charset, article.origins["charset"]) == ("utf-8", "utf8")
    assert article.body.split("\n") == PARAGRAPHS


@pytest.mark.parametrize("codec", NOT_TEXT_CODECS)
def test_a_meta_charset_naming_a_codec_that_is_no_text_encoding_is_ignored(codec: str) -> None:
    article = ingest(page(article_html(charset=codec).encode("cp1256"), "text/html"))
    assert (article.charset, article.origins["charset"]) == ("cp1256", "detected")
    assert article.body.split("\n") == PARAGRAPHS


def test_invalid_utf8_bytes_in_a_utf8_page_cost_only_themselves() -> None:
    good = article_html().encode()
    at = good.index(PARAGRAPHS[1].encode())
    broken = good[:at] + b"\xff\xfe\xc3" + good[at:]

    article = ingest(page(broken, "text/html; charset=utf-8"))

    assert article.charset == "utf-8"
    assert article.body.count("\ufffd") == 3, "one replacement character per undecodable byte"
    assert article.body.replace("\ufffd", "").split("\n") == PARAGRAPHS
    assert article.title == TITLE


def test_nul_bytes_inside_the_html_are_dropped_and_the_article_kept() -> None:
    body = article_html().encode().replace(PARAGRAPHS[1][:4].encode(), b"\x00" + PARAGRAPHS[1][:4].encode())
    body = body.replace(b"<article>", b"<article>\x00\x00")

    article = ingest(page(body))

    assert article.body.split("\n") == PARAGRAPHS and article.title == TITLE


# --- structure ---------------------------------------------------------------------


def test_a_page_of_100000_nested_tags_fails_quickly_saying_the_parser_stopped() -> None:
    nested = "<div>" * 100_000 + PARAGRAPHS[0] + "</div>" * 100_000
    started = time.monotonic()

    error = refused(page(article_html([nested, *PARAGRAPHS[1:]])))

    assert time.monotonic() - started < 15
    assert (error.reason, error.classification, error.kind) == ("extraction_failed", "failed", "parser_limit")
    assert "stopped before the end of the page" in error.detail and "depth" in error.detail


def test_an_article_whose_footer_nests_too_deep_is_kept_from_the_part_read() -> None:
    footer = "<footer>" + "<div>" * 1_000 + "حقوق النشر" + "</div>" * 1_000 + "</footer>"

    article = ingest(page(article_html().replace("</main>", "</main>" + footer)))

    assert article.body.split("\n") == PARAGRAPHS


def test_a_page_of_100000_paragraphs_is_too_large_before_trafilatura_spends_minutes_on_it() -> None:
    started = time.monotonic()

    error = refused(page(article_html([f"فقرة قصيرة رقم {n}" for n in range(100_000)])))

    assert time.monotonic() - started < 10, "trafilatura alone takes 30 s on it"
    assert (error.reason, error.classification, error.kind) == ("too_large", "too_large", "too_many_elements")
    assert f"limit {MAX_ELEMENTS:,}" in error.detail


@pytest.mark.parametrize("separator", [" a{n}='x'", " \"a{n}", "/a{n}"], ids=["valued", "quote_named", "slash_separated"])
def test_a_tag_with_20000_attributes_is_too_large_without_being_parsed(separator: str) -> None:
    crowded = "<p" + "".join(separator.format(n=n) for n in range(20_000)) + ">"
    started = time.monotonic()

    error = refused(page(article_html().replace("<p>", crowded, 1)))

    assert time.monotonic() - started < 2, "libxml2 takes seconds on each such tag"
    assert (error.reason, error.classification, error.kind) == ("too_large", "too_large", "too_many_attributes")
    assert "20,000 attributes" in error.detail


def test_long_attribute_values_are_no_crowd_of_attributes() -> None:
    path = '<svg><path d="' + " ".join(f"L {n} {n}" for n in range(5_000)) + '"/></svg>'
    image = '<img src="data:image/png;base64,' + "A" * 200_000 + '">'

    article = ingest(page(article_html().replace("<main>", "<main>" + path + image)))

    assert article.body.split("\n") == PARAGRAPHS


def test_a_10_mb_single_line_is_too_large_for_the_page_limit_without_being_parsed() -> None:
    line = ("كلمة " * 1_000_000).encode()  # 10 MB, no newline
    started = time.monotonic()

    error = refused(page(b"<html><body><p>" + line + b"</p></body></html>"))

    assert time.monotonic() - started < 5
    assert (error.reason, error.classification) == ("too_large", "too_large")
    assert f"limit {SETTINGS.crawl_max_page_bytes:,}" in error.detail


def test_a_10_mb_text_node_under_a_raised_page_limit_fails_saying_the_parser_stopped() -> None:
    roomy = SETTINGS.model_copy(update={"crawl_max_page_bytes": 16 * 1024 * 1024})
    line = "a" * 10_500_000

    error = refused(page(article_html([line, *PARAGRAPHS])), roomy)

    assert (error.reason, error.kind) == ("extraction_failed", "parser_limit")
    assert "limit" in error.detail


@pytest.mark.parametrize("declared", [True, False], ids=["size_in_header", "size_not_in_header"])
def test_a_zstd_bomb_is_too_large_without_being_inflated(declared: bool) -> None:
    bomb = page(b"").model_copy(update={"body_zstd": zstd_bomb(64 << 20, declared=declared)})
    assert len(bomb.body_zstd) < 64 * 1024, "a message of kilobytes"
    tracemalloc.start()
    try:
        error = refused(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (error.reason, error.classification) == ("too_large", "too_large")
    assert peak < 3 * SETTINGS.crawl_max_page_bytes, f"{peak:,} bytes allocated"


def test_a_truncated_compressed_body_is_undecodable() -> None:
    whole = zstandard.ZstdCompressor(write_content_size=False).compress(("\n".join(PARAGRAPHS) * 50).encode())
    for body_zstd in (page(article_html()).body_zstd[:-20], whole[: len(whole) // 2]):
        error = refused(page(b"").model_copy(update={"body_zstd": body_zstd}))
        assert (error.reason, error.classification) == ("undecodable", "failed")


# --- bodies that are not pages -------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(range(256)) * 8, "zip"),
        # a gzip response the crawler did not decode
        (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + bytes(range(256)) * 8, "gzip"),
        (bytes((i * 7919) % 256 for i in range(8192)), "binary"),
    ],
    ids=["zip", "gzip", "no_signature"],
)
def test_a_binary_body_labelled_html_is_not_html(body: bytes, kind: str) -> None:
    error = refused(page(body, "text/html; charset=utf-8"))
    assert (error.reason, error.classification, error.kind) == ("not_html", "not_article", "binary")
    assert kind in error.detail


def test_json_labelled_html_is_empty() -> None:
    error = refused(page(b'{"status": "ok", "items": [1, 2, 3], "next": null}'))
    assert (error.reason, error.classification) == ("empty_extraction", "empty")


def test_plain_text_labelled_html_is_read_as_an_article() -> None:
    article = ingest(page("\n\n".join(PARAGRAPHS)))
    # without markup the paragraphs are one block of text
    assert article.body == " ".join(PARAGRAPHS) and article.language == "ar"


def test_a_bare_javascript_shell_is_empty() -> None:
    shell = ('<html><head><title>الموقع</title><script src="/static/app.3f9a.js"></script></head>'
             '<body><div id=root></div><script>window.__STATE__={"page":"news"}</script></body></html>')
    error = refused(page(shell))
    assert (error.reason, error.classification, error.kind) == ("empty_extraction", "empty", "js_shell")


@pytest.mark.parametrize(
    ("body", "outcome"),
    [
        (b"", ("empty_extraction", "empty", "no_text")),
        (b"   \n\t  \r\n ", ("empty_extraction", "empty", "no_text")),
        # nothing for the parser to build a document from
        (b"<!-- " + b"x" * 5000 + b" -->", ("extraction_failed", "failed", "unparseable")),
    ],
    ids=["empty", "whitespace", "only_a_comment"],
)
def test_a_page_without_markup_or_text_is_refused_with_its_reason(body: bytes, outcome: tuple[str, str, str]) -> None:
    error = refused(page(body))
    assert (error.reason, error.classification, error.kind) == outcome and error.detail


def test_entity_expansion_is_not_performed() -> None:
    laughs = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
              + "".join(f'<!ENTITY lol{n} "{("&lol" + str(n - 1) + ";") * 10 if n > 1 else "&lol;" * 10}">'
                        for n in range(1, 10))
              + ']><html><body><p>&lol9;</p></body></html>')
    started = time.monotonic()
    error = refused(page(laughs))
    assert time.monotonic() - started < 5
    assert error.reason == "empty_extraction"


def test_ten_thousand_headline_links_without_text_are_not_an_article() -> None:
    links = "".join(f'<li><a href="/news/{n}.html">خبر رقم {n} عن الاقتصاد والأسواق</a></li>' for n in range(10_000))
    started = time.monotonic()

    error = refused(page(f"<html><body><main><ul>{links}</ul></main></body></html>"))

    assert time.monotonic() - started < 30
    assert (error.reason, error.classification) == ("not_article", "not_article")


# --- an Arabic page whose title is in another script ---------------------------------


@pytest.mark.parametrize("title", ["Azerbaijan and Armenia resume talks", "Переговоры Азербайджана и Армении"])
def test_an_arabic_article_titled_in_another_script_keeps_its_title_and_is_arabic(title: str) -> None:
    article = ingest(page(article_html(title=title)))
    assert article.title == title and article.language == "ar"
    assert article.body.split("\n") == PARAGRAPHS

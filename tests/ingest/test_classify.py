"""Page classification (ingest.classify): every page the ingest stage sees
gets a verdict, and only articles are indexed.

The pages in bad_pages/ are the not-articles (and the hard articles) a news
crawler meets; the evaluation set, the demo site and the fixture universe are
the negative control: every article page there must stay an article, since
a false "not an article" loses news."""
from __future__ import annotations

import json
import random
import re
import time
from pathlib import Path

import pytest
import trafilatura
from lxml.html import HtmlElement

import deploy.extraction_eval
from deploy.demo_site.content import load_articles, load_furniture, load_private_article
from deploy.demo_site.render import SiteView, render_article_page, render_home, render_section
from deploy.universe.fixtures import fixture_sites, huge_page, pdf_document
from deploy.universe.sites import Request
import ingest.classify as classify
from deploy.universe.generate import generated_sites
from ingest.classify import PageVerdict, binary_kind, classify_page, too_large_verdict
from ingest.decoding import decode_page
from ingest.furniture import headline_of, strip_furniture
from ingest.html_prep import parse, prepare, restore_zwnj
from ingest.page_meta import page_metadata

BAD_PAGES = Path(__file__).parent / "bad_pages"
EVAL_PAGES = Path(deploy.extraction_eval.__file__).parent / "pages"
EVAL_NAMES = sorted(p.stem for p in EVAL_PAGES.glob("*.html"))
MIN_CHARS = 200


def extracted_text(html: str, url: str) -> tuple[HtmlElement | None, str]:
    """(prepared tree, body text) exactly as the ingest stage gets them."""
    tree = parse(html)
    if tree is not None:
        prepare(tree)
    doc = trafilatura.bare_extraction(tree if tree is not None else html, url=url, include_comments=False,
                                      fast=True, with_metadata=False)
    text = restore_zwnj(doc.text or "") if doc is not None else ""
    raw_title = page_metadata(tree, url).title if tree is not None else None
    title = headline_of(raw_title, text) or raw_title
    return tree, strip_furniture(text, title).text


def classify_html(html: str, url: str, *, min_chars: int = MIN_CHARS) -> PageVerdict:
    tree, text = extracted_text(html, url)
    return classify_page(tree, html, url, text, min_chars=min_chars)


def classify_body(body: bytes, url: str) -> PageVerdict:
    return classify_html(decode_page(body, "text/html").text, url)


def bad_page(name: str) -> str:
    return (BAD_PAGES / name).read_text("utf-8")


def classify_fixture(name: str, url: str) -> PageVerdict:
    return classify_body((BAD_PAGES / name).read_bytes(), url)


def assert_verdict(verdict: PageVerdict, classification: str, kind: str) -> None:
    assert (verdict.classification, verdict.kind) == (classification, kind), verdict.detail
    assert verdict.detail


# --- listings --------------------------------------------------------------------

def test_section_index_is_not_an_article() -> None:
    verdict = classify_fixture("ar-section-index-politics.html", "https://alwatan-alyawm.example/section/politics")
    assert_verdict(verdict, "not_article", "section_index")
    assert "12 links to articles" in verdict.detail


def test_tag_page_under_a_percent_encoded_arabic_url_is_not_an_article() -> None:
    url = "https://akhbar-alkhalij.example/%D9%88%D8%B3%D9%85/%D8%A7%D9%84%D8%A7%D9%86%D8%AA%D8%AE%D8%A7%D8%A8%D8%A7%D8%AA/"
    assert_verdict(classify_fixture("ar-tag-page-elections.html", url), "not_article", "tag_page")


def test_tag_page_is_recognised_by_its_archive_markup_even_at_an_unknown_url() -> None:
    # WordPress writes og:type article on archives too; the headline cards and body class tell.
    verdict = classify_fixture("ar-tag-page-elections.html", "https://akhbar-alkhalij.example/?t=elections")
    assert_verdict(verdict, "not_article", "tag_page")


def test_paginated_category_page_2_is_not_an_article() -> None:
    verdict = classify_fixture("ar-category-economy-page-2.html", "https://sada-albalad.example/category/economy/page/2/")
    assert_verdict(verdict, "not_article", "section_index")


def test_english_tag_page_is_not_an_article() -> None:
    verdict = classify_fixture("en-tag-page-climate.html", "https://www.harbourtimes.example/tags/climate-change")
    assert_verdict(verdict, "not_article", "tag_page")


def test_persian_section_index_is_not_an_article() -> None:
    verdict = classify_fixture("fa-section-index-economy.html", "https://payam-no.example/fa/service/economy")
    assert_verdict(verdict, "not_article", "section_index")


def test_short_brief_with_a_related_list_and_a_read_also_link_is_an_article() -> None:
    url = "https://alwatan-alyawm.example/news/2026/11/12/48216"
    assert_verdict(classify_fixture("ar-short-brief-with-related-list.html", url), "article", "article")


def test_short_brief_stays_an_article_even_under_a_section_url() -> None:
    url = "https://alwatan-alyawm.example/section/local/48216"
    assert_verdict(classify_fixture("ar-short-brief-with-related-list.html", url), "article", "article")


@pytest.mark.parametrize(("name", "url", "kind"), [
    ("ar-short-brief-with-related-list.html", "https://alwatan-alyawm.example/news/2026/11/12/48216", "article"),
    ("ar-section-index-politics.html", "https://alwatan-alyawm.example/section/politics", "section_index"),
])
def test_without_its_description_an_article_verdict_is_plain_and_other_verdicts_unchanged(name, url, kind) -> None:
    html = bad_page(name)
    tree, text = extracted_text(html, url)
    described = classify_page(tree, html, url, text, min_chars=MIN_CHARS)
    plain = classify_page(tree, html, url, text, min_chars=MIN_CHARS, describe_article=False)
    assert described.kind == kind
    assert plain == (PageVerdict("article", "article", "article") if kind == "article" else described)


# --- galleries and videos ---------------------------------------------------------

def test_photo_album_of_captioned_photos_without_prose_is_a_gallery() -> None:
    verdict = classify_fixture("ar-photo-gallery-album.html", "https://alwatan-alyawm.example/photos/album/7731")
    assert_verdict(verdict, "not_article", "gallery")
    assert "12 captions" in verdict.detail


def test_photo_album_without_gallery_markup_is_recognised_by_its_captioned_photos() -> None:
    html = bad_page("ar-photo-gallery-album.html")
    html = html.replace(html[html.index('<script type="application/ld+json">'):html.index("</script>") + 9], "")
    html = html.replace('<meta property="og:type" content="website">', "")
    verdict = classify_html(html, "https://alwatan-alyawm.example/photos/album/7731")
    assert_verdict(verdict, "not_article", "gallery")


def test_video_page_with_a_one_line_description_is_not_an_article() -> None:
    verdict = classify_fixture("ar-video-page.html", "https://alwatan-alyawm.example/video/2026/11/12/99410")
    assert_verdict(verdict, "not_article", "video")


def test_video_page_declared_only_by_its_json_ld_is_not_an_article() -> None:
    html = bad_page("ar-video-page.html").replace('<meta property="og:type" content="video.other">', "")
    verdict = classify_html(html, "https://alwatan-alyawm.example/video/2026/11/12/99410")
    assert_verdict(verdict, "not_article", "video")
    assert "JSON-LD VideoObject" in verdict.detail


def test_video_page_with_a_full_written_story_under_the_player_is_an_article() -> None:
    story = "".join(
        f"<p>{sentence}</p>" for sentence in (
            "قال وزير الطاقة في مقابلة مع الوطن اليوم إن الحكومة لن ترفع أسعار الكهرباء على الشرائح الأولى من الاستهلاك المنزلي خلال العام المقبل.",
            "وأوضح أن التعرفة الجديدة ستطبق على الشرائح العليا والقطاع التجاري فقط، وأن نحو سبعين في المئة من المشتركين لن يتأثروا بالتعديل.",
            "وأضاف أن الوزارة تدرس برنامجا لدعم تركيب الألواح الشمسية على أسطح المنازل بقروض ميسرة بالتعاون مع البنوك المحلية.",
            "وأشار إلى أن خسائر شركة الكهرباء الوطنية تراجعت بنسبة كبيرة بعد تشغيل خط الربط الكهربائي مع دول الجوار مطلع العام.",
        )
    )
    html = bad_page("ar-video-page.html").replace('<div class="share-bar">', story + '<div class="share-bar">', 1)
    verdict = classify_html(html, "https://alwatan-alyawm.example/video/2026/11/12/99410")
    assert_verdict(verdict, "article", "article")


def test_article_with_an_embedded_gallery_and_video_is_an_article() -> None:
    url = "https://alwatan-alyawm.example/news/2026/11/09/48090"
    assert_verdict(classify_fixture("ar-article-with-gallery-and-video.html", url), "article", "article")


# --- JavaScript shells, paywalls, empty pages -------------------------------------

def test_nextjs_shell_without_server_rendered_text_is_empty() -> None:
    verdict = classify_fixture("ar-nextjs-shell.html", "https://khabar-now.example/news/budget-vote-2026")
    assert_verdict(verdict, "empty", "js_shell")
    assert "empty app mount point" in verdict.detail


def test_react_root_shell_is_empty() -> None:
    verdict = classify_fixture("ar-react-root-shell.html", "https://ajel-news.example/news/77120")
    assert_verdict(verdict, "empty", "js_shell")


def test_paywalled_teaser_is_not_an_article() -> None:
    url = "https://aliqtisadi.example/analysis/2026/11/12/gulf-swf-africa"
    verdict = classify_fixture("ar-paywalled-teaser.html", url)
    assert_verdict(verdict, "not_article", "paywalled_teaser")
    assert "isAccessibleForFree false" in verdict.detail


def test_paywalled_teaser_flagged_with_the_string_false_is_not_an_article() -> None:
    html = bad_page("ar-paywalled-teaser.html").replace('"isAccessibleForFree":false', '"isAccessibleForFree":"False"')
    verdict = classify_html(html, "https://aliqtisadi.example/analysis/2026/11/12/gulf-swf-africa")
    assert_verdict(verdict, "not_article", "paywalled_teaser")


def test_teaser_without_structured_data_is_recognised_by_its_subscription_box() -> None:
    html = bad_page("ar-paywalled-teaser.html")
    html = html.replace(html[html.index('<script type="application/ld+json">'):html.index("</script>") + 9], "")
    assert "isAccessibleForFree" not in html
    verdict = classify_html(html, "https://aliqtisadi.example/analysis/2026/11/12/gulf-swf-africa")
    assert_verdict(verdict, "not_article", "paywalled_teaser")


def _teaser_without_structured_data() -> str:
    html = bad_page("ar-paywalled-teaser.html")
    return html.replace(html[html.index('<script type="application/ld+json">'):html.index("</script>") + 9], "")


def test_subscription_box_named_only_by_its_id_in_any_case_is_found() -> None:
    html = _teaser_without_structured_data().replace('class="paywall" id="piano-offer"', 'class="offer-box" id="offer"')
    html = html.replace("paywall__", "offer__").replace('<div class="offer__box">', '<div class="offer__box" id="Premium-Wall">')
    verdict = classify_html(html, "https://aliqtisadi.example/analysis/2026/11/12/gulf-swf-africa")
    assert_verdict(verdict, "not_article", "paywalled_teaser")


def test_call_to_subscribe_without_a_box_or_a_flag_is_not_a_paywall() -> None:
    # a phrase alone is one sign, and a rule needs two (the phrase search is skipped then)
    html = _teaser_without_structured_data().replace('class="paywall" id="piano-offer"', 'class="offer-box" id="offer"')
    html = html.replace("paywall__", "offer__")
    assert "اشترك لمتابعة القراءة" in html
    verdict = classify_html(html, "https://aliqtisadi.example/analysis/2026/11/12/gulf-swf-africa")
    assert_verdict(verdict, "article", "article")


def test_gate_hidden_from_a_reader_of_the_full_article_does_not_make_it_a_teaser() -> None:
    # Sites render the subscription box for everyone and show it by script
    # to readers over their quota; the crawler's copy has the whole story.
    html = bad_page("ar-paywall-flag-full-article.html").replace(
        ',"hasPart":[{"@type":"WebPageElement","isAccessibleForFree":"False","cssSelector":".paywalled-content"}]', "")
    gate = '<div class="paywall" hidden><p>اشترك لمتابعة القراءة. هل أنت مشترك بالفعل؟ سجل الدخول</p></div>'
    html = html.replace('<div id="piano-inline"></div>', gate)
    verdict = classify_html(html, "https://aliqtisadi.example/banks/2026/11/11/gcc-rates-hold")
    assert_verdict(verdict, "article", "article")


def test_full_article_behind_a_visible_subscription_box_is_still_an_article() -> None:
    # A metered site shows its offer over the story but sends all of it.
    html = bad_page("ar-paywall-flag-full-article.html").replace(
        ',"hasPart":[{"@type":"WebPageElement","isAccessibleForFree":"False","cssSelector":".paywalled-content"}]', "")
    gate = '<div class="paywall"><p>اشترك لمتابعة القراءة. هل أنت مشترك بالفعل؟ سجل الدخول</p></div>'
    html = html.replace('<div id="piano-inline"></div>', gate)
    verdict = classify_html(html, "https://aliqtisadi.example/banks/2026/11/11/gcc-rates-hold")
    assert_verdict(verdict, "article", "article")


def test_full_article_flagged_not_free_but_served_whole_is_an_article() -> None:
    url = "https://aliqtisadi.example/banks/2026/11/11/gcc-rates-hold"
    assert_verdict(classify_fixture("ar-paywall-flag-full-article.html", url), "article", "article")


def test_full_article_flagged_not_free_without_naming_the_locked_part_is_an_article() -> None:
    html = bad_page("ar-paywall-flag-full-article.html").replace(
        ',"hasPart":[{"@type":"WebPageElement","isAccessibleForFree":"False","cssSelector":".paywalled-content"}]', "")
    assert '"hasPart"' not in html
    assert_verdict(classify_html(html, "https://aliqtisadi.example/banks/2026/11/11/gcc-rates-hold"), "article", "article")


def test_page_with_only_a_cookie_banner_menus_and_footer_is_empty() -> None:
    url = "https://alwatan-alyawm.example/news/2026/11/12/48215"
    assert_verdict(classify_fixture("ar-cookie-banner-only.html", url), "empty", "no_text")


def test_broken_html_article_is_an_article() -> None:
    url = "http://www.annahar-jadid.example/news.php?id=91822"
    html = bad_page("ar-broken-html-article.html")
    assert "<body" not in html and "</html>" not in html  # the fixture really is broken
    assert_verdict(classify_html(html, url), "article", "article")


def test_unparseable_and_blank_bodies() -> None:
    assert_verdict(classify_page(None, "", "https://x.example/a", "", min_chars=MIN_CHARS), "empty", "no_text")
    verdict = classify_page(None, "<?xml version='1.0'?>", "https://x.example/a", "", min_chars=MIN_CHARS)
    assert_verdict(verdict, "failed", "unparseable")


# --- binary bodies labelled as HTML -----------------------------------------------

@pytest.mark.parametrize(("name", "kind"), [("png-served-as-html.html", "png"), ("pdf-served-as-html.html", "pdf")])
def test_binary_file_served_as_html_is_sniffed_and_fails(name: str, kind: str) -> None:
    body = (BAD_PAGES / name).read_bytes()
    assert binary_kind(body) == kind
    # and should it reach the classifier decoded as text, it still is not a page
    assert_verdict(classify_body(body, "https://alwatan-alyawm.example/files/report"), "failed", "binary")


@pytest.mark.parametrize(("body", "kind"), [
    (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "jpeg"),
    (b"GIF89a\x01\x00\x01\x00\x80\x00\x00", "gif"),
    (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "webp"),
    (b"PK\x03\x04\x14\x00\x06\x00", "zip"),
    (b"\x1f\x8b\x08\x00\x00\x00\x00\x00", "gzip"),
    (b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00", "mp4"),
    (b"\x00\x00\x00\x1cftypheic\x00\x00\x00\x00", "heic"),
    (b"\x1aE\xdf\xa3\x9fB\x86\x81", "webm"),
    (b"ID3\x04\x00\x00\x00\x00\x00\x00", "mp3"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00", "msoffice"),
    (bytes(range(256)) * 4, "binary"),
])
def test_binary_kind_recognises_magic_numbers(body: bytes, kind: str) -> None:
    assert binary_kind(body) == kind


@pytest.mark.parametrize("body", [
    "<!DOCTYPE html><html lang='ar'><body><p>خبر عاجل</p></body></html>".encode(),
    "<html><body><p>خبر عاجل من العاصمة</p></body></html>".encode("windows-1256"),
    "<html><body><p>خبر عاجل</p></body></html>".encode("utf-16"),
    "<html><body><p>خبر عاجل</p></body></html>".encode("utf-16-le"),
    b"<html><body><p>one stray \x00 byte from an old CMS</p>" + b"<p>text</p>" * 40 + b"</body></html>",
    b"BZh is how this page starts, not a bzip2 archive",
    b"",
])
def test_binary_kind_leaves_text_alone(body: bytes) -> None:
    assert binary_kind(body) is None


def test_universe_pdf_and_huge_page_are_sniffed_right() -> None:
    assert binary_kind(pdf_document()) == "pdf"
    assert binary_kind(huge_page()) is None  # huge, but HTML: the size limit deals with it


def _reference_signature_kind(head: bytes, *, loose: bool = False) -> str | None:
    """The signature table read one entry at a time (what the compiled matcher must agree with)."""
    for offset, signature, kind in classify._SIGNATURES:
        if loose and not any(0x20 < b < 0x80 for b in signature[:4]):
            continue
        window = head[offset:offset + len(signature)]
        if len(window) < len(signature):
            continue
        if loose and not all(s >= 0x80 or s == w for s, w in zip(signature, window)):
            continue
        if not loose and window != signature:
            continue
        if kind == "bzip2" and head[4:10] != b"1AY&SY":
            continue
        return kind
    return None


def test_signature_matcher_agrees_with_the_signature_table() -> None:
    rng = random.Random(11)
    heads = [b"", b"BZh91AY&SY", b"BZh is a word", b"\x00\x00\x01\x00", b"RIFF\x00\x00\x00\x00WEBP"]
    for offset, signature, _ in classify._SIGNATURES:
        for _ in range(30):
            head = bytearray(rng.getrandbits(8) for _ in range(offset + len(signature) + 8))
            head[offset:offset + len(signature)] = signature
            if rng.random() < 0.5:
                head[rng.randrange(len(head))] = rng.getrandbits(8)
            heads.append(bytes(head[:rng.choice([len(head), offset + len(signature), offset + len(signature) - 1])]))
    for head in heads:
        assert classify._signature_kind(head) == _reference_signature_kind(head), head
        assert classify._signature_kind(head, loose=True) == _reference_signature_kind(head, loose=True), head


def test_decoded_body_is_sniffed_by_its_head_only() -> None:
    url = "https://alwatan-alyawm.example/files/report"
    # a PNG decoded as UTF-8: its non-ASCII bytes became replacement characters
    png = "\ufffdPNG\r\n\x1a\n\x00\x00\x00\rIHDR" + "\ufffd\x00\x01" * 400
    assert_verdict(classify_page(None, png, url, "", min_chars=MIN_CHARS), "failed", "binary")
    junk = "\x00\x01\x02\ufffd" * 300
    assert_verdict(classify_page(None, junk, url, "", min_chars=MIN_CHARS), "failed", "binary")
    # past the first KB, junk says nothing: broken bytes late in a page are the page's own problem
    text = "<html><body><p>" + "خبر " * 300 + "</p>" + junk + "</body></html>"
    assert classify_page(None, text, url, "", min_chars=MIN_CHARS).kind != "binary"


def test_word_count_counts_the_tokens_with_a_letter() -> None:
    letters = re.compile(r"[^\W\d_]")
    samples = ["", "   ", "2026 - 12", "خبر عاجل", "الـ 12 مليون", "x² ١٢٣ _ __a", "a\u00a0b\u2028c", "سلام\u200cعليكم",
               "(قال)، «نعم»", "Ⅻ ² ³", "\u064b\u0652", "word, word. 3.5% $4"]
    for text in samples:
        assert classify._words(text) == sum(1 for token in text.split() if letters.search(token)), text


def test_too_large_verdict_states_size_and_limit() -> None:
    verdict = too_large_verdict(12_400_000, 5_000_000)
    assert (verdict.classification, verdict.kind) == ("too_large", "too_large")
    assert "12,400,000" in verdict.detail and "5,000,000" in verdict.detail


# --- negative controls: articles stay articles ------------------------------------

@pytest.mark.parametrize("name", EVAL_NAMES)
def test_every_evaluation_page_is_an_article(name: str) -> None:
    meta = json.loads((EVAL_PAGES / f"{name}.json").read_text("utf-8"))
    verdict = classify_body((EVAL_PAGES / f"{name}.html").read_bytes(), meta.get("url") or f"https://eval.local/{name}")
    assert_verdict(verdict, "article", "article")


def test_the_evaluation_set_has_all_its_44_pages() -> None:
    assert len(EVAL_NAMES) >= 44


def _demo_view() -> SiteView:
    articles = sorted(load_articles(), key=lambda a: a.published_at, reverse=True)
    return SiteView("http://127.0.0.1:8000", load_furniture(), articles, load_private_article().path)


def test_demo_site_articles_are_articles_and_its_listings_are_not() -> None:
    view = _demo_view()
    for article in [*view.articles, load_private_article()]:
        body = render_article_page(view, article).encode(article.encoding)
        assert_verdict(classify_body(body, view.url(article.path)), "article", "article")
    assert_verdict(classify_html(render_home(view), view.url("/")), "not_article", "section_index")
    for section in view.furniture.sections:
        # a section holding a single story is "empty" rather than a listing: either way not indexed
        verdict = classify_html(render_section(view, section), view.url(f"/section/{section}/"))
        assert not verdict.is_article, (section, verdict.detail)


def test_fixture_universe_article_pages_are_articles_and_homepages_are_not() -> None:
    for number, site in enumerate(fixture_sites(), start=11):
        site.base_url = f"http://127.0.0.{number}:8000"
        for article in site.articles:
            response = site.handle(Request(article.path, ""))
            if response.status != 200:
                continue  # the sites' deliberate faults (429, 503)
            assert_verdict(classify_body(response.body, site.url(article.path)), "article", "article")
        home = site.handle(Request("/", ""))
        if home.status == 200 and site.articles:
            assert classify_body(home.body, site.homepage).classification == "not_article", site.name


# --- cost ----------------------------------------------------------------------------

def test_an_ordinary_article_is_classified_without_the_costly_evidence(monkeypatch: pytest.MonkeyPatch) -> None:
    # A story that says it is one, under a story's URL, with no paywall flag or
    # box: no rule can call it anything else, so the page's links, their
    # cards and its shown text are never read (they cost more than the rest).
    site = generated_sites(hosts=1, articles=20)[0]
    site.base_url = "http://127.0.0.101"
    pages = []
    for article in site.articles:
        html = decode_page(site.article_response(article).body, "text/html").text
        pages.append((html, site.url(article.path), *extracted_text(html, site.url(article.path))))

    def costly(*args: object, **kwargs: object) -> None:
        raise AssertionError("costly evidence read for an ordinary article")

    for name in ("headline_anchors", "headline_links", "text_lengths", "_shown_text", "_card_of"):
        monkeypatch.setattr(classify, name, costly)
    for html, url, tree, text in pages:
        assert_verdict(classify_page(tree, html, url, text, min_chars=MIN_CHARS), "article", "article")


def test_a_huge_listing_is_classified_in_well_under_a_second() -> None:
    cards = "".join(
        f'<li class="card"><a href="/news/{i}"><img src="/i/{i}.jpg"></a><h3><a href="/news/{i}">'
        f"عنوان الخبر رقم {i} عن الاقتصاد والسياسة اليوم</a></h3><p>ملخص قصير للخبر رقم {i} يشرح ما حدث.</p></li>"
        for i in range(3000)
    )
    html = f'<html><head><meta property="og:type" content="website"></head><body><main><ul>{cards}</ul></main></body></html>'
    tree, text = extracted_text(html, "https://x.example/")
    started = time.perf_counter()
    verdict = classify_page(tree, html, "https://x.example/", text, min_chars=MIN_CHARS)
    assert time.perf_counter() - started < 3
    assert verdict.classification == "not_article"

"""The selectors swapped into trafilatura select exactly what trafilatura's
own XPaths select, so its extraction, its recall measure and its baseline
rescue are unchanged."""
from __future__ import annotations

from pathlib import Path

import pytest
import trafilatura
from lxml import html as lxml_html
from lxml.etree import XPath
from trafilatura.baseline import html2txt
from trafilatura.xpaths import REGEXP_NS

import ingest.extraction  # noqa: F401  (installs the swaps, as the ingest stage does)
from ingest import trafilatura_tuning
from ingest.trafilatura_tuning import RELEASED, STAND_INS, SWAPS, Swap, patterns_in, stand_in
from rasd.bench_extract import eval_pages, generated_pages

BAD_PAGES = Path(__file__).parent / "bad_pages"
SWAP_IDS = [swap.label for swap in SWAPS]

EDGE_CASES = {
    "id before class": '<div id="site-footer" class="x">a</div>',
    "class before id": '<div class="x" id="site-footer">a</div>',
    "footer in a span's class": '<span class="footer">a</span>',
    "capitalised Footer": '<div class="Footer">a</div>',
    "footer element": "<footer><p>a</p></footer>",
    "cookie banner class": '<div class="cookie-banner">a</div>',
    "cookie banner id upper case": '<section id="COOKIEBOT">a</section>',
    "consent manager in a list": '<ul class="nav consent_manager"><li>a</li></ul>',
    "empty class and id": '<div class="" id="">a</div>',
    "nested selections": '<aside><div class="footer"><script>x()</script></div></aside><p>tail</p>',
    "svg in upper case": "<SVG><text>a</text></SVG>",
    "prefixed svg": "<svg:svg>a</svg:svg>",
    "comment and processing instruction": "<!-- footer --><?php echo 1 ?><p>a</p>",
    "template and fencedframe": "<template><p>a</p></template><fencedframe></fencedframe>",
    "noisy attributes": '<div data-x="1" lang="ar" class="body footer-links" id="main">a</div>',
    "infinite scroll with a headline": '<div class="infinite-scroll"><h1>next story</h1><p>b</p></div>',
    "infinite scroll without a headline": '<section id="infinitescroll"><p>b</p></section>',
    "theme box with a headline": '<aside class="mvp-post-add-box"><h1>t</h1></aside>',
    "upper-case infinite scroll": '<div class="Infinite-Scroll"><p>b</p></div>',
    "comments section by id": '<div id="comments"><p>c</p></div>',
    "commentary is not comments": '<div id="commentary"><p>c</p></div>',
    "comment list by class": '<ul class="comment-list"><li>c</li></ul>',
    "list with a disqus id": '<ol id="disqus_thread"><li>c</li></ol>',
    "div with a disqus id": '<div id="dsq-comments"><p>c</p></div>',
    "post comments details": '<details class="x post-comments"><p>c</p></details>',
    "list tag": '<list class="Comments"><item>c</item></list>',
    "nested comment sections": '<div class="comments"><div id="comment-1"><p>c</p></div></div>',
    "navigation role": '<div role="Navigation"><a href="/">a</a></div>',
    "replacement content": '<span data-lp-replacement-content="">a</span>',
    "most popular component": '<section data-component="MostPopularStories-2"><p>a</p></section>',
    "cookie in the first of id and class": '<div class="cookie-note" id="main"><p>a</p></div>',
    "cookie in the second of id and class": '<div id="main" class="cookie-note"><p>a</p></div>',
    "share bar": '<div class="share-buttons"><a href="#">a</a></div>',
    "ad class": '<p class="x ad y">a</p>',
    "byline span": '<span class="Byline">a</span>',
    "navigation in an article tag": '<article class="navbar"><p>a</p></article>',
    "reply in the first of id and class": '<p id="reply-3" class="x">a</p>',
    "reply in the second of id and class": '<p class="x" id="reply-3">a</p>',
    "hidden by style first": '<div style="color:red" id="hidden-box">a</div>',
    "hidden id first": '<div id="hidden-box" style="color:red">a</div>',
    "display none": '<div style="display: none">a</div>',
    "aria hidden": '<b aria-hidden="true">a</b>',
    "aria hidden false": '<b aria-hidden="false">a</b>',
    "comments title": '<h3 class="comments-title">a</h3>',
    "hide print": '<div class="hide-print">a</div>',
    "elementor share buttons": '<section class="x elementor-share-buttons--view"><a>s</a></section>',
    "article body by class, twice under one parent": '<div class="post-content">a</div><div class="post-content">b</div>',
    "article body in two parents": '<main><div class="entry">a</div></main><section><article itemprop="articleBody">b</article></section>',
    "nested article bodies": '<div id="article-body"><div class="articleBody"><p>a</p></div></div>',
    "article container without a match": '<article class="story"><p>a</p></article>',
}


def _body(markup: str) -> lxml_html.HtmlElement:
    tree = lxml_html.fromstring(f"<html><body><p>x</p>{markup}</body></html>")
    return tree.find(".//body")


def _same_selection(swap: Swap, tree: lxml_html.HtmlElement) -> None:
    expected = RELEASED[swap](tree)
    stand_in_selector = STAND_INS[swap]
    assert stand_in_selector is not None
    got = stand_in_selector(tree)
    # the same element objects, in the same order
    assert [id(e) for e in got] == [id(e) for e in expected], ([e.tag for e in got], [e.tag for e in expected])


@pytest.mark.parametrize("swap", SWAPS, ids=SWAP_IDS)
@pytest.mark.parametrize("markup", EDGE_CASES.values(), ids=EDGE_CASES.keys())
def test_edge_cases_select_what_the_released_xpath_selects(swap: Swap, markup: str) -> None:
    _same_selection(swap, _body(markup))


@pytest.mark.parametrize("swap", SWAPS, ids=SWAP_IDS)
def test_every_page_of_the_evaluation_set_the_generated_corpus_and_the_bad_pages_selects_the_same(swap: Swap) -> None:
    bodies = [body for body, _page in eval_pages()] + [body for body, _page in generated_pages(200)]
    bodies += [path.read_bytes() for path in sorted(BAD_PAGES.glob("*.html"))]
    checked = 0
    for raw in bodies:
        try:
            tree = lxml_html.document_fromstring(raw)
        except Exception:  # a page lxml refuses never reaches trafilatura's selectors
            continue
        _same_selection(swap, tree)
        body = tree.find(".//body")
        if body is not None:
            _same_selection(swap, body)
        checked += 1
    assert checked >= 250


def test_the_stand_ins_are_installed_and_extraction_is_what_the_released_library_gives() -> None:
    assert trafilatura_tuning.install() == []
    for swap in SWAPS:
        assert swap.get() is STAND_INS[swap]
    pages = [body.decode("utf-8", "replace") for body, _page in eval_pages()]
    swapped = [trafilatura.extract(page, include_comments=False) for page in pages]
    measured = [html2txt(page) for page in pages]
    with trafilatura_tuning.as_shipped():
        for swap in SWAPS:
            assert swap.get() is RELEASED[swap]
        assert [trafilatura.extract(page, include_comments=False) for page in pages] == swapped
        assert [html2txt(page) for page in pages] == measured
    for swap in SWAPS:
        assert swap.get() is STAND_INS[swap]


def test_a_token_added_to_one_of_trafilaturas_expressions_is_followed() -> None:
    swap = next(s for s in SWAPS if s.label == "OVERALL_DISCARD_XPATH[0]")
    path = RELEASED[swap].path
    assert "|nfoline')" in path
    grown = XPath(path.replace("|nfoline')", "|nfoline|rasd-promo')"), namespaces={"re": REGEXP_NS})
    selector = stand_in(swap, grown)
    assert selector is not None
    tree = _body('<div class="rasd-promo">a</div><div class="story">b</div>')
    assert [e.get("class") for e in selector(tree)] == [e.get("class") for e in grown(tree)] == ["rasd-promo"]


def test_an_expression_of_another_shape_keeps_trafilaturas_xpath(monkeypatch: pytest.MonkeyPatch) -> None:
    changed = SWAPS[1]
    assert patterns_in(changed.shape, ".//aside|.//nav") is None
    assert stand_in(changed, XPath(".//aside|.//nav")) is None
    with trafilatura_tuning.as_shipped():
        monkeypatch.setitem(STAND_INS, changed, None)
        kept = trafilatura_tuning.install()
        assert kept == [changed.label]
        assert changed.get() is RELEASED[changed]
        assert all(swap.get() is STAND_INS[swap] for swap in SWAPS if swap is not changed)
    monkeypatch.undo()
    assert trafilatura_tuning.install() == []

"""HTML preparation before trafilatura: layout tables become blocks, data
tables stay, and Persian's zero-width non-joiner survives extraction."""
import trafilatura
from lxml import html as lxml_html

from ingest.html_prep import (
    ZWNJ,
    gallery_captions_as_text,
    is_layout_table,
    live_times_as_text,
    parse,
    prepare,
    restore_zwnj,
    unwrap_layout_tables,
)

LAYOUT = """<html><body><table width="980"><tr><td class="menu"><a href="/">Home</a> <a href="/s">Sport</a></td></tr>
<tr><td><h1>Council meets</h1><p>The council met on Sunday to discuss the waste collection plan for the old city.</p>
<p>Members agreed to hire forty more workers and to buy six new trucks before the summer season starts.</p></td>
<td><table><tr><td><a href="/a">Most read one</a></td></tr><tr><td><a href="/b">Most read two</a></td></tr></table></td></tr>
</table></body></html>"""

DATA = """<table><tr><th>City</th><th>Price</th></tr><tr><td>Aden</td><td>120</td></tr><tr><td>Sanaa</td><td>135</td></tr></table>"""


def _tables(markup: str) -> list:
    return list(lxml_html.document_fromstring(markup).iter("table"))


def test_a_table_holding_paragraphs_or_a_list_of_links_is_layout_and_a_price_table_is_data():
    outer, links = _tables(LAYOUT)
    assert is_layout_table(outer) and is_layout_table(links)
    (data,) = _tables(f"<html><body>{DATA}</body></html>")
    assert not is_layout_table(data)


def test_unwrapping_turns_layout_tables_into_blocks_and_leaves_data_tables():
    tree = lxml_html.document_fromstring(LAYOUT.replace("</body>", DATA + "</body>"))
    assert unwrap_layout_tables(tree) == 2
    remaining = list(tree.iter("table"))
    assert len(remaining) == 1 and "Aden" in remaining[0].text_content()


def _prepared(markup: str):
    tree = parse(markup)
    prepare(tree)
    return tree


def test_the_article_of_a_table_layout_comes_out_as_paragraphs_without_the_menu():
    text = trafilatura.extract(_prepared(LAYOUT))
    lines = [line for line in text.split("\n") if line.strip()]
    assert "The council met on Sunday to discuss the waste collection plan for the old city." in lines
    assert not any("|" in line or "Home" in line or "Most read" in line for line in lines)


def test_persian_words_keep_their_zero_width_non_joiner_through_extraction():
    sentence = f"شهردار گفت این خط روزانه صد هزار مسافر را جابه{ZWNJ}جا می{ZWNJ}کند و کار ادامه دارد."
    html = f"<html><body><article><p>{sentence}</p><p>{sentence}</p></article></body></html>"
    assert ZWNJ not in (trafilatura.extract(html) or ""), "trafilatura drops it by itself"
    assert sentence in restore_zwnj(trafilatura.extract(_prepared(html)) or "")


AD_PAGE = """<html><body><article><h1>Rates held</h1>
<p>The central bank held its main rate at 27.25 percent on Thursday, as expected by most economists.</p>
<div class="ads-box"><div class="ad-label">إعلان</div><div>Get 30% off home internet this month only.</div></div>
<p>The bank said inflation was slowing but remained above its target for the coming year.</p></article>
<div class="header-shadow"><p>Not an ad: the words header and shadow contain no ad word.</p></div></body></html>"""


def test_advertisement_blocks_go_and_blocks_whose_names_merely_contain_ad_stay():
    tree = parse(AD_PAGE)
    assert prepare(tree) == 1
    text = lxml_html.tostring(tree, encoding=str)
    assert "30% off" not in text and "إعلان" not in text
    assert "Not an ad" in text and "held its main rate" in text


def test_a_large_block_is_never_taken_for_an_ad_whatever_its_class():
    body = "<p>" + "The council approved the budget after a long debate. " * 20 + "</p>"
    tree = parse(f'<html><body><div class="article ad-free">{body}</div></body></html>')
    assert prepare(tree) == 0


GALLERY = """<html><body><h1>In pictures: floods</h1><div class="slides">{figures}</div>
<p>Photographs by our staff.</p></body></html>"""
FIGURE = ('<figure><img src="/{n}.jpg"><figcaption>Caption number {n} tells what the photo shows in the flooded town.'
          '</figcaption><span class="credit">Photograph: A. Staff</span><span class="counter">{n} / 4</span></figure>')


def test_the_captions_of_a_photo_gallery_are_its_text_without_credits_or_counters():
    figures = "".join(FIGURE.format(n=n) for n in range(1, 5))
    tree = lxml_html.document_fromstring(GALLERY.format(figures=figures))
    assert gallery_captions_as_text(tree) == 4
    paragraphs = [p.text_content() for p in tree.iter("p")]
    assert paragraphs[:4] == [f"Caption number {n} tells what the photo shows in the flooded town." for n in range(1, 5)]
    assert "Photograph: A. Staff" not in lxml_html.tostring(tree, encoding=str)


def test_one_captioned_photo_in_a_story_is_left_alone():
    tree = lxml_html.document_fromstring(GALLERY.format(figures=FIGURE.format(n=1)))
    assert gallery_captions_as_text(tree) == 0


LIVE = """<html><body><main>{entries}</main></body></html>"""
ENTRY = ('<article class="live-entry"><header><time datetime="2026-11-01T{t}:00Z">{t}</time></header>'
         '<div><p>Entry at {t}: runners pass the bridge and the crowd cheers them on.</p></div></article>')


def test_the_clock_times_of_a_live_blog_stay_as_lines_of_text():
    entries = "".join(ENTRY.format(t=t) for t in ("11:05", "10:20", "09:10"))
    tree = lxml_html.document_fromstring(LIVE.format(entries=entries))
    assert live_times_as_text(tree) == 3
    text = trafilatura.extract(tree) or ""
    assert [line for line in text.split("\n") if ":" in line and len(line) == 5] == ["11:05", "10:20", "09:10"]


def test_a_page_with_one_timestamp_is_no_live_blog():
    tree = lxml_html.document_fromstring(LIVE.format(entries=ENTRY.format(t="11:05")))
    assert live_times_as_text(tree) == 0


def test_a_kicker_above_the_headline_is_taken_out_and_returned_as_the_section():
    from ingest.html_prep import take_kickers

    tree = lxml_html.fromstring(
        '<html><body><article><p class="kicker">بنوك</p><h1>البنك المركزي يثبت الفائدة</h1>'
        '<span class="post-category">اقتصاد</span><p>قررت لجنة السياسة النقدية الإبقاء على الفائدة.</p>'
        '<div class="rubric-list"><p>فقرة طويلة داخل حاوية تحمل اسما يشبه الاسم</p></div></article></body></html>')
    assert take_kickers(tree) == ["بنوك", "اقتصاد"]
    text = tree.text_content()
    assert "بنوك" not in text and "قررت لجنة" in text and "فقرة طويلة" in text

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from ingest.extraction import extract_article
from ingest.published import (
    DateCandidate,
    choose_modified,
    choose_published,
    date_candidates,
    page_dates,
    parse_date_value,
    published_candidates,
    visible_dates,
)
from tests.ingest.pages import article_html, fetched_page

URL_WITH_DATE = "https://news.example/2026/11/12/talks-resume.html"
URL = "https://news.example/politics/talks-resume.html"
FETCHED = datetime(2026, 11, 12, 18, 0, tzinfo=timezone.utc)
LATER = datetime(2026, 12, 1, tzinfo=timezone.utc)
BODY = "<p>أعلن وزير الخارجية اليوم عن جولة جديدة من المحادثات مع الجانب الأرمني حول ترسيم الحدود.</p>"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def html(head: str = "", body: str = BODY) -> str:
    return f'<!DOCTYPE html><html lang="ar"><head><title>محادثات</title>{head}</head><body><article><h1>محادثات</h1>{body}</article></body></html>'


def meta(key: str, value: str, attribute: str = "property") -> str:
    return f'<meta {attribute}="{key}" content="{value}">'


def jsonld(data: str) -> str:
    return f'<script type="application/ld+json">{data}</script>'


def chosen(
    page: str, url: str = URL, *, feed: datetime | None = None, tz=None, kind: str = "published", fetched: datetime = FETCHED
) -> DateCandidate | None:
    dates = page_dates(page, url, feed_date=feed, site_tz=tz, fetched_at=fetched, htmldate_lookup=lambda: None)
    return dates.published if kind == "published" else dates.modified


# --- the symptom --------------------------------------------------------


def test_page_time_beats_the_url_date_instead_of_becoming_midnight():
    page = html(meta("article:published_time", "2026-11-12T14:35:00+03:00"))
    result = chosen(page, URL_WITH_DATE)
    assert (result.value, result.origin, result.precision) == (utc(2026, 11, 12, 11, 35), "meta", "time")


def test_feed_time_beats_the_url_date():
    result = chosen(html(), URL_WITH_DATE, feed=utc(2026, 11, 12, 9, 40))
    assert (result.value, result.origin) == (utc(2026, 11, 12, 9, 40), "feed")


def test_url_date_is_used_only_when_nothing_else_exists():
    result = chosen(html(), URL_WITH_DATE)
    assert (result.value, result.origin, result.precision) == (utc(2026, 11, 12), "url", "day")


def test_no_date_anywhere_gives_none():
    assert chosen(html()) is None


# --- structured sources ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "origin"),
    [
        (meta("article:published_time", "2026-11-12T14:35:00+03:00"), "meta"),
        (meta("og:published_time", "2026-11-12T14:35:00+03:00"), "meta"),
        (meta("datePublished", "2026-11-12T14:35:00+03:00", "itemprop"), "meta"),
        (meta("pubdate", "2026-11-12T11:35:00Z", "name"), "meta"),
        (meta("DC.date.issued", "2026-11-12T14:35+03:00", "name"), "meta"),
        (meta("parsely-pub-date", "2026-11-12T11:35:00.000Z", "name"), "meta"),
        (meta("sailthru.date", "2026-11-12 11:35:00", "name"), "meta"),
        (jsonld('{"@context": "https://schema.org", "@type": "NewsArticle", "datePublished": "2026-11-12T14:35:00+03:00"}'), "jsonld"),
    ],
)
def test_each_structured_source_gives_the_published_time(tag, origin):
    result = chosen(html(tag))
    assert (result.value, result.origin) == (utc(2026, 11, 12, 11, 35), origin)


def test_jsonld_inside_a_graph_with_the_article_node_preferred_over_the_webpage_node():
    data = """{"@context": "https://schema.org", "@graph": [
        {"@type": "WebPage", "datePublished": "2020-01-01T00:00:00Z"},
        {"@type": ["NewsArticle"], "datePublished": "2026-11-12T14:35:00+03:00", "dateModified": "2026-11-12T16:00:00+03:00"}]}"""
    page = html(jsonld(data))
    assert chosen(page).value == utc(2026, 11, 12, 11, 35)
    assert chosen(page, kind="modified").value == utc(2026, 11, 12, 13, 0)


def test_jsonld_given_as_a_list_of_nodes():
    page = html(jsonld('[{"@type": "Organization", "name": "x"}, {"@type": "Article", "datePublished": "2026-11-12T11:35:00Z"}]'))
    assert chosen(page).value == utc(2026, 11, 12, 11, 35)


def test_broken_jsonld_does_not_hide_the_meta_tags():
    page = html(jsonld('{"@type": "NewsArticle", "datePublished": ') + meta("article:published_time", "2026-11-12T11:35:00Z"))
    assert chosen(page).origin == "meta"


def test_time_element_in_the_article_wins_over_related_story_times():
    body = (
        '<p class="byline"><time datetime="2026-11-12T14:35:00+03:00">منذ ساعتين</time></p>' + BODY
        + '<ul class="related"><li><time datetime="2026-11-01T08:00:00+03:00">قبل أسبوع</time></li></ul>'
    )
    result = chosen(html(body=body))
    assert (result.value, result.origin) == (utc(2026, 11, 12, 11, 35), "time")


def test_time_element_in_the_site_navigation_is_ignored():
    page = (
        '<html><body><nav><time datetime="2026-11-12T23:59:00+03:00">اليوم</time></nav>'
        f'<div class="story">{BODY}</div></body></html>'
    )
    assert chosen(page) is None


def test_modified_meta_is_a_modified_candidate_not_a_published_one():
    page = html(meta("article:modified_time", "2026-11-12T16:00:00+03:00"))
    assert chosen(page) is None
    assert chosen(page, kind="modified").value == utc(2026, 11, 12, 13, 0)


# --- visible Arabic date lines -----------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "الخميس 12 نوفمبر 2026 - 14:35",
        "الخميس ١٢ تشرين الثاني ٢٠٢٦ الساعة ٢:٣٥ م",
        "۱۲ نوفمبر ۲۰۲۶ | ۱۴:۳۵",
        "نُشر في: 12 نونبر 2026 على الساعة 14:35",
        "14:35 - 12 نوفمبر/تشرين الثاني 2026",
        "12/11/2026 - 02:35 مساءً",
    ],
)
def test_visible_date_line_with_a_time_in_every_regional_spelling(line):
    body = f'<div class="post-date">{line}</div>' + BODY
    result = chosen(html(body=body))
    assert (result.value, result.origin, result.precision) == (utc(2026, 11, 12, 14, 35), "text", "time")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("3 كانون الثاني 2026", (2026, 1, 3)), ("3 شباط 2026", (2026, 2, 3)), ("3 آذار 2026", (2026, 3, 3)),
        ("3 نيسان 2026", (2026, 4, 3)), ("3 أيار 2026", (2026, 5, 3)), ("3 حزيران 2026", (2026, 6, 3)),
        ("3 تموز 2026", (2026, 7, 3)), ("3 آب 2026", (2026, 8, 3)), ("3 أيلول 2026", (2026, 9, 3)),
        ("3 تشرين الأول 2026", (2026, 10, 3)), ("3 تشرين الثاني 2026", (2026, 11, 3)),
        ("3 كانون الأول 2026", (2026, 12, 3)),
        ("3 يناير 2026", (2026, 1, 3)), ("3 فبراير 2026", (2026, 2, 3)), ("3 مارس 2026", (2026, 3, 3)),
        ("3 أبريل 2026", (2026, 4, 3)), ("3 إبريل 2026", (2026, 4, 3)), ("3 مايو 2026", (2026, 5, 3)),
        ("3 يونيو 2026", (2026, 6, 3)), ("3 يونيه 2026", (2026, 6, 3)), ("3 يوليو 2026", (2026, 7, 3)),
        ("3 يوليه 2026", (2026, 7, 3)), ("3 أغسطس 2026", (2026, 8, 3)), ("3 سبتمبر 2026", (2026, 9, 3)),
        ("3 أكتوبر 2026", (2026, 10, 3)), ("3 نوفمبر 2026", (2026, 11, 3)), ("3 ديسمبر 2026", (2026, 12, 3)),
        ("٣ ديسمبر ٢٠٢٦", (2026, 12, 3)),
    ],
)
def test_both_month_name_sets_give_the_date(line, expected):
    [(parsed, kind)] = visible_dates(line)
    assert (parsed.when, parsed.precision, kind) == (datetime(*expected), "day", "published")


def test_hijri_date_is_converted_to_gregorian():
    [(parsed, _kind)] = visible_dates("الجمعة 12 جمادى الأولى 1448 هـ")
    assert parsed.when == datetime(2026, 10, 23)


def test_gregorian_date_beside_a_hijri_one_comes_first():
    dates = visible_dates("الخميس 22 جمادى الأولى 1448 هـ الموافق 12 نوفمبر 2026 م - 14:35")
    assert [parsed.when for parsed, _ in dates] == [datetime(2026, 11, 12, 14, 35), datetime(2026, 11, 2)]


def test_labelled_update_line_is_a_modified_date():
    line = "نشر في 12/11/2026 10:00 | آخر تحديث: 13/11/2026 - 9:15 م"
    assert [(p.when, kind) for p, kind in visible_dates(line)] == [
        (datetime(2026, 11, 12, 10, 0), "published"),
        (datetime(2026, 11, 13, 21, 15), "modified"),
    ]


def test_time_with_gmt_in_the_text_is_read_as_gmt():
    body = '<span class="date">12 نوفمبر 2026 - 11:35 بتوقيت غرينتش</span>' + BODY
    assert chosen(html(body=body), tz=ZoneInfo("Asia/Riyadh")).value == utc(2026, 11, 12, 11, 35)


def test_date_line_in_div_soup_without_class_names_is_found():
    page = f"<html><body><div><div>سياسة</div><div>12 نوفمبر 2026 - 14:35</div><div>{BODY}</div></div></body></html>"
    result = chosen(page)
    assert (result.value, result.origin) == (utc(2026, 11, 12, 14, 35), "text")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Published Wednesday 18 November 2026, 17:20 GMT", utc(2026, 11, 18, 17, 20)),
        ("Posted Nov. 18, 2026 5:20 pm", utc(2026, 11, 18, 17, 20)),
        ("Publié le 18 novembre 2026 à 17h20", utc(2026, 11, 18, 17, 20)),
        ("18 ноября 2026, 17:20", utc(2026, 11, 18, 17, 20)),
    ],
)
def test_english_french_and_russian_date_lines(line, expected):
    assert chosen(html(body=f'<span class="date">{line}</span>' + BODY), fetched=LATER).value == expected


def test_dates_in_the_comment_section_are_not_the_article_date():
    comments = '<ul class="comments"><li><div class="comment-date">18/11/2026 17:43</div><p>رأيي</p></li></ul>'
    page = html(body='<span class="date">Published 18 November 2026</span>' + BODY + comments)
    result = chosen(page, fetched=LATER)
    assert (result.value, result.precision) == (utc(2026, 11, 18), "day")


def test_live_blog_entry_times_do_not_become_the_published_time():
    entries = "".join(
        f'<article class="live-entry"><header><time datetime="2026-11-30T{t}:00+03:00">{t}</time></header><p>تحديث</p></article>'
        for t in ("13:10", "11:25", "09:30")
    )
    page = (
        '<html><body><main><h1>لحظة بلحظة</h1><div class="live-meta"><span class="date">الإثنين ٣٠ نوفمبر ٢٠٢٦ - ٠٩:٣٠</span></div>'
        f"{entries}</main></body></html>"
    )
    result = chosen(page, tz=timezone(timedelta(hours=3)), fetched=LATER)
    assert (result.value, result.origin) == (utc(2026, 11, 30, 6, 30), "text")


def test_time_of_a_teaser_nested_in_the_article_is_ignored():
    teaser = '<article class="card"><time datetime="2026-11-01T08:00:00+03:00">1/11</time><a href="/x">قصة أخرى</a></article>'
    page = html(body=teaser + '<p><time datetime="2026-11-12T14:35:00+03:00">الخميس</time></p>' + BODY)
    assert chosen(page).value == utc(2026, 11, 12, 11, 35)


# --- time zones ---------------------------------------------------------------------


def test_naive_time_is_read_in_the_site_time_zone():
    page = html(meta("article:published_time", "2026-11-12T14:35:00"))
    assert chosen(page, tz=ZoneInfo("Asia/Riyadh")).value == utc(2026, 11, 12, 11, 35)
    assert chosen(page).value == utc(2026, 11, 12, 14, 35)


def test_naive_visible_time_takes_the_zone_the_page_structured_dates_state():
    body = '<div class="post-date">12 نوفمبر 2026 - 15:10</div>' + BODY
    page = html(meta("article:modified_time", "2026-11-12T16:00:00+03:00"), body=body)
    assert chosen(page).value == utc(2026, 11, 12, 12, 10)


def test_values_are_aware_utc():
    page = html(meta("article:published_time", "2026-11-12T14:35:00+03:00"))
    assert all(c.value.tzinfo == timezone.utc for c in published_candidates(page, URL_WITH_DATE, feed_date=None, site_tz=None))


# --- precedence ---------------------------------------------------------------------


def test_date_only_page_date_agreeing_with_the_feed_day_takes_the_feed_time():
    page = html(meta("article:published_time", "2026-11-12"))
    result = chosen(page, feed=utc(2026, 11, 12, 9, 40))
    assert (result.value, result.origin) == (utc(2026, 11, 12, 9, 40), "feed")


def test_date_only_page_date_disagreeing_with_the_feed_keeps_the_page_day():
    page = html(meta("article:published_time", "2026-11-10"))
    result = chosen(page, feed=utc(2026, 11, 12, 9, 40))
    assert (result.value, result.origin, result.precision) == (utc(2026, 11, 10), "meta", "day")


def test_midnight_from_a_cms_counts_as_a_date_only_value():
    page = html(meta("article:published_time", "2026-11-12T00:00:00+03:00"))
    result = chosen(page, feed=utc(2026, 11, 12, 9, 40))
    assert (result.value, result.origin) == (utc(2026, 11, 12, 9, 40), "feed")


def test_visible_time_of_day_completes_a_date_only_jsonld_date():
    body = '<div class="date">12 نوفمبر 2026 - 14:35</div>' + BODY
    page = html(jsonld('{"@type": "NewsArticle", "datePublished": "2026-11-12"}'), body=body)
    result = chosen(page, tz=timezone(timedelta(hours=3)))
    assert (result.value, result.origin) == (utc(2026, 11, 12, 11, 35), "text")


def test_structured_time_beats_visible_text_and_feed():
    body = '<div class="date">12 نوفمبر 2026 - 10:00</div>' + BODY
    page = html(meta("article:published_time", "2026-11-12T14:35:00+03:00"), body=body)
    assert chosen(page, feed=utc(2026, 11, 12, 12, 0)).origin == "meta"


def test_visible_text_beats_the_feed():
    body = '<div class="date">12 نوفمبر 2026 - 10:00</div>' + BODY
    assert chosen(html(body=body), feed=utc(2026, 11, 12, 12, 0)).origin == "text"


def test_feed_beats_htmldate():
    page = page_dates(html(), URL, feed_date=utc(2026, 11, 12, 9, 40), site_tz=None, fetched_at=FETCHED,
                      htmldate_lookup=lambda: "2026-11-12T08:00:00")
    assert page.published.origin == "feed"


def test_htmldate_is_the_fallback_when_the_page_has_no_date_of_its_own():
    # A meta name this module does not know, but htmldate does.
    page = '<html><head><meta name="citation_publication_date" content="2026/11/12"></head><body><p>The minister said.</p></body></html>'
    candidates = published_candidates(page, URL, feed_date=None, site_tz=None)
    assert [(c.origin, c.value, c.precision) for c in candidates] == [("htmldate", utc(2026, 11, 12), "day")]


def test_htmldate_is_not_asked_when_the_page_has_a_date():
    calls = []
    page = html(meta("article:published_time", "2026-11-12T14:35:00+03:00"))
    date_candidates(page, URL, feed_date=None, site_tz=None, htmldate_lookup=lambda: calls.append(1))
    assert calls == []


def test_sitemap_day_from_the_feed_is_date_only():
    [candidate] = published_candidates(html(), URL, feed_date=utc(2026, 11, 12), site_tz=None)
    assert (candidate.origin, candidate.precision) == ("feed", "day")


# --- bad values --------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["0000-00-00", "null", "", "2026-13-45", "yesterday", "1970-01-01T00:00:00Z", "2026-11-12 14:35 EST", "1"])
def test_garbage_values_are_ignored(value):
    page = html(meta("article:published_time", value))
    result = chosen(page, feed=utc(2026, 11, 12, 9, 40))
    assert result.origin == "feed"


def test_a_published_date_more_than_a_day_after_the_fetch_is_not_trusted():
    page = html(meta("article:published_time", "2026-11-20T10:00:00+03:00"))
    assert chosen(page) is None
    assert chosen(page, feed=utc(2026, 11, 12, 9, 40)).origin == "feed"


def test_a_date_within_a_day_after_the_fetch_is_kept():
    # Clocks and time zones of small sites drift; tomorrow morning is still plausible.
    page = html(meta("article:published_time", "2026-11-13T06:00:00+03:00"))
    assert chosen(page).value == utc(2026, 11, 13, 3, 0)


def test_choose_modified_ignores_published_candidates():
    candidates = [DateCandidate(utc(2026, 11, 12, 9), "meta", "time", "published")]
    assert choose_modified(candidates, now=FETCHED) is None
    assert choose_published(candidates, now=FETCHED) == candidates[0]


@pytest.mark.parametrize(
    ("raw", "expected", "precision"),
    [
        ("2026-11-12T14:35:00+0300", utc(2026, 11, 12, 11, 35), "time"),
        ("Thu, 12 Nov 2026 14:35:00 +0300", utc(2026, 11, 12, 11, 35), "time"),
        ("1794486900", utc(2026, 11, 12, 12, 35), "time"),
        ("2026/11/12 14:35", datetime(2026, 11, 12, 14, 35), "time"),
        ("٢٠٢٦-١١-١٢", datetime(2026, 11, 12), "day"),
    ],
)
def test_parse_date_value_reads_the_formats_sites_use(raw, expected, precision):
    parsed = parse_date_value(raw)
    assert (parsed.when, parsed.precision) == (expected, precision)


# --- wired into extract_article ------------------------------------------------------


def test_extract_article_takes_the_page_time_not_the_url_midnight():
    page = fetched_page(article_html(published="2024-03-05T14:35:00+03:00"), url="https://news.example/2024/03/05/talks.html")
    article = extract_article(page, min_chars=100)
    assert (article.published_at, article.origins["published_at"]) == (utc(2024, 3, 5, 11, 35), "meta")


def test_extract_article_takes_the_feed_time_over_the_url_date():
    page = fetched_page(
        article_html(published=None), url="https://news.example/2024/03/05/talks.html", hint_published_at=utc(2024, 3, 5, 6, 50)
    )
    article = extract_article(page, min_chars=100)
    assert (article.published_at, article.origins["published_at"]) == (utc(2024, 3, 5, 6, 50), "feed")


def test_extract_article_falls_back_to_the_url_date_as_a_page_date():
    page = fetched_page(article_html(published=None), url="https://news.example/2024/03/04/talks.html")
    article = extract_article(page, min_chars=100)
    assert (article.published_at, article.origins["published_at"]) == (utc(2024, 3, 4), "url")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("تاریخ انتشار: ۸ آذر ۱۴۰۵ - ۱۴:۳۰", (datetime(2026, 11, 29, 14, 30), "published")),
        ("شنبه ۱ فروردین ۱۴۰۵", (datetime(2026, 3, 21), "published")),
        ("آخرین به‌روزرسانی: ۱۲ دی ۱۴۰۴ ساعت ۰۹:۱۵", (datetime(2026, 1, 2, 9, 15), "modified")),
        ("۲۵ عقرب ۱۴۰۵", (datetime(2026, 11, 16), "published")),  # Afghan month names
    ],
)
def test_solar_hijri_dates_of_persian_pages_are_read_in_the_gregorian_calendar(text, expected):
    ((parsed, kind),) = visible_dates(text)
    assert (parsed.when, kind) == expected


def test_a_persian_month_name_without_day_and_year_is_just_a_word():
    # دی, تیر and مهر are everyday words ("December", "arrow", "kindness")
    assert visible_dates("قیمت مهر 1405 تومان و تیر برق") == []

"""The labelled alert corpus (deploy.alert_corpus): its shape and labels, the
news sites that serve it, and that the project's extraction keeps exactly
the article (never the sidebar, related links, ticker, menu or comments).
Plain urllib against loopback sites; no Kafka, no search engine."""
from __future__ import annotations

import re
import urllib.request
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from crawlers.sources import load_sources
from deploy.alert_corpus import (
    PLACEHOLDER_WEBHOOK,
    CorpusArticle,
    CorpusSite,
    corpus_universe,
    load_corpus,
    record_urls,
    rule_names,
    rules_yaml,
    write_sources_file,
)
from deploy.universe import Universe
from ingest.extraction import extract_article
from ingest.models import FetchedPage, compress

KARABAKH = "karabakh"
CEASEFIRE = "karabakh-ceasefire"
_MARKS = re.compile("[\u064B-\u065F\u0670\u0640]")  # harakat and tatweel
ZWNJ = "\u200c"
# Surface stems a human reader recognises (not the rule compiler's logic):
# they check that the labels say what the texts say.
KARABAKH_STEMS = ("كاراباخ", "كاراباغ", "قره باغ", "قرة باغ", "قرهباغ", f"قره{ZWNJ}باغ", "رتساخ", "karabakh", "karabagh",
                  "artsakh", "qarabağ", "карабах", "арцах")
CEASEFIRE_STEMS = ("هدن", "وقف إطلاق النار", "ceasefire", "truce", "перемири", "прекращени", "atəşkəs", "آتش")


def plain(text: str) -> str:
    return _MARKS.sub("", text).lower()


def mentions(text: str, stems: tuple[str, ...] = KARABAKH_STEMS) -> bool:
    flat = plain(text)
    return any(stem in flat for stem in stems)


def has_word(text: str, phrase: str) -> bool:
    """``phrase`` as whole words (a clitic-prefixed form is another word)."""
    edge = r"[\w\u064B-\u065F\u0640]"
    return re.search(f"(?<!{edge}){re.escape(phrase)}(?!{edge})", text) is not None


@pytest.fixture(scope="module")
def corpus() -> tuple[CorpusArticle, ...]:
    return load_corpus()


def positives(corpus: tuple[CorpusArticle, ...]) -> list[CorpusArticle]:
    return [a for a in corpus if KARABAKH in a.expected_rules]


def negatives(corpus: tuple[CorpusArticle, ...]) -> list[CorpusArticle]:
    return [a for a in corpus if not a.expected_rules]


# -- the corpus ----------------------------------------------------------------


def test_corpus_has_at_least_72_articles_in_all_five_languages(corpus: tuple[CorpusArticle, ...]) -> None:
    per_language = Counter(a.lang for a in corpus)
    assert len(corpus) >= 72
    assert per_language["ar"] >= 30
    assert min(per_language[code] for code in ("en", "ru", "az", "fa")) >= 10
    assert per_language["en"] >= 12


def test_corpus_has_at_least_25_positives_and_25_negatives(corpus: tuple[CorpusArticle, ...]) -> None:
    assert len(positives(corpus)) >= 25
    assert len([a for a in corpus if KARABAKH not in a.expected_rules]) >= 25


def test_article_ids_are_unique_and_articles_are_short_news_pieces(corpus: tuple[CorpusArticle, ...]) -> None:
    assert len({a.id for a in corpus}) == len(corpus)
    for article in corpus:
        assert 3 <= len(article.paragraphs) <= 6, article.id
        assert 120 <= article.word_count() <= 350, (article.id, article.word_count())
        assert article.published.utcoffset() is not None, article.id
        assert article.published.hour or article.published.minute, article.id
        assert len(set(article.paragraphs)) == len(article.paragraphs), article.id


def test_every_expected_rule_is_defined_in_rules_yaml(corpus: tuple[CorpusArticle, ...]) -> None:
    defined = set(rule_names())
    used = {rule for a in corpus for rule in a.expected_rules}
    assert used <= defined
    assert {KARABAKH, CEASEFIRE} <= used


def test_rules_yaml_points_its_channel_at_a_given_webhook() -> None:
    text = rules_yaml("http://127.0.0.1:4321/hook")
    data = yaml.safe_load(text)
    assert PLACEHOLDER_WEBHOOK not in text
    assert {c["url"] for c in data["channels"].values()} == {"http://127.0.0.1:4321/hook"}
    assert all(rule["channels"] for rule in data["rules"])


def test_labels_agree_with_what_the_text_says(corpus: tuple[CorpusArticle, ...]) -> None:
    for article in corpus:
        karabakh = mentions(article.text)
        ceasefire = mentions(article.text, CEASEFIRE_STEMS)
        assert (KARABAKH in article.expected_rules) == karabakh, article.id
        assert (CEASEFIRE in article.expected_rules) == (karabakh and ceasefire), article.id
    # the second rule has negatives of its own: a ceasefire without Karabakh
    assert sum(1 for a in negatives(corpus) if mentions(a.text, CEASEFIRE_STEMS)) >= 3


POSITIVE_FORMS = [
    "كاراباخ", "والكاراباخ", "الكاراباخ", "بكاراباخ", "لكاراباخ", "للكاراباخ", "وكاراباخ", "فكاراباخ", "كاراباغ",
    "قره باغ", "قرة باغ", "قرهباغ", "ناغورني كاراباخ", "ناغورنو كاراباخ", "أرتساخ", "آرتساخ", "كَارَابَاخ", "كاراباـــخ",
    "Karabakh", "Karabakh's", "Karabagh", "Nagorno-Karabakh", "KARABAKH", "Artsakh",
    "Карабах", "Карабаха", "Карабахе", "Карабахом", "Карабаху", "Нагорного Карабаха", "Арцах", "Арцахе",
    "Qarabağ", "Qarabağda", "Qarabağın", "Qarabağa", f"قره{ZWNJ}باغ", "قره باغ",
]


@pytest.mark.parametrize("form", POSITIVE_FORMS)
def test_a_positive_carries_the_form(corpus: tuple[CorpusArticle, ...], form: str) -> None:
    assert any(has_word(a.text, form) for a in positives(corpus))


def test_persian_positives_have_the_zwnj_and_the_spaced_form(corpus: tuple[CorpusArticle, ...]) -> None:
    persian = [a for a in positives(corpus) if a.lang == "fa"]
    assert any(f"قره{ZWNJ}باغ" in a.text for a in persian)
    assert any(has_word(a.text, "قره باغ") for a in persian)


def test_some_positives_name_karabakh_only_in_the_title(corpus: tuple[CorpusArticle, ...]) -> None:
    title_only = [a for a in positives(corpus) if mentions(a.title) and not mentions("\n".join(a.paragraphs))]
    assert {a.lang for a in title_only} >= {"ar", "az"}


HARD_NEGATIVE_FORMS = [
    "قره داغ", f"قره{ZWNJ}داغ", "Qaradağ", "Карадаг", "كارابوك", "Karabük", "Karabash", "Карабаше", "Карабаш",
    "كراتشي", "Karachi", "كابول", "Kabul", "کابل", "باكو", "Baku", "Bakının", "يريفان", "Yerevan", "Ереван",
    "نخجوان", "Nakhchivan", "Naxçıvan", "شاليمار باغ", "باغ ارم",
]


@pytest.mark.parametrize("form", HARD_NEGATIVE_FORMS)
def test_a_negative_carries_the_near_miss(corpus: tuple[CorpusArticle, ...], form: str) -> None:
    assert any(has_word(a.text, form) for a in negatives(corpus))


def test_a_negative_has_qara_and_bagh_apart(corpus: tuple[CorpusArticle, ...]) -> None:
    apart = [a for a in negatives(corpus) if has_word(a.text.replace(ZWNJ, " "), "قره")
             and has_word(a.text.replace(ZWNJ, " "), "باغ")]
    assert {a.lang for a in apart} >= {"ar", "fa"}


def test_at_least_six_negatives_carry_karabakh_only_in_their_page_furniture(corpus: tuple[CorpusArticle, ...]) -> None:
    furnished = [a for a in negatives(corpus) if mentions("\n".join(a.furniture))]
    assert len(furnished) >= 6
    for kind in ("sidebar", "related", "ticker", "menu", "comments"):
        assert any(mentions("\n".join(getattr(a, kind))) for a in furnished), kind


# -- the sites -------------------------------------------------------------------


def fetch(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.headers["Content-Type"], response.read()


def locs(xml: bytes) -> list[str]:
    """<link> of RSS items or <loc> of sitemap entries."""
    root = ET.fromstring(xml)
    return [el.text or "" for el in root.iter() if el.tag.rsplit("}", 1)[-1] in ("loc", "link") and el.text]


@pytest.fixture(scope="module")
def universe() -> Iterator[Universe]:
    with corpus_universe() as served:
        yield served


def test_sites_serve_every_article_once_on_loopback(universe: Universe, corpus: tuple[CorpusArticle, ...]) -> None:
    urls = record_urls(universe)
    assert sorted(r.id for r in urls.values()) == sorted(a.id for a in corpus)
    assert all(url.startswith("http://127.0.0.") for url in urls)
    assert 2 <= len(universe.sites) <= 4


def test_each_site_lists_all_its_articles_in_feed_and_sitemaps(universe: Universe) -> None:
    for site in universe.sites.values():
        assert isinstance(site, CorpusSite)
        articles = set(site.record_urls())
        status, _, robots = fetch(site.url("/robots.txt"))
        named = re.findall(r"(?m)^Sitemap: (\S+)$", robots.decode())
        assert status == 200 and site.url("/sitemap.xml") in named
        for listing in ("/rss.xml", "/sitemap.xml", "/news-sitemap.xml"):
            status, content_type, body = fetch(site.url(listing))
            assert status == 200 and "xml" in content_type, listing
            assert articles <= set(locs(body)), (site.name, listing)


def test_pages_are_utf8_and_rtl_for_arabic_and_persian(universe: Universe) -> None:
    for url, record in record_urls(universe).items():
        status, content_type, body = fetch(url)
        assert status == 200
        assert content_type == "text/html; charset=utf-8"
        html = body.decode("utf-8")  # strict: a windows-1256 byte would raise
        direction = "rtl" if record.lang in ("ar", "fa") else "ltr"
        assert f'<html lang="{record.lang}" dir="{direction}">' in html, record.id
        assert '<meta charset="utf-8">' in html


def test_homepages_and_topic_links_answer(universe: Universe) -> None:
    for site in universe.sites.values():
        status, _, body = fetch(site.homepage)
        assert status == 200
        topic = re.search(r'href="(/topics/[0-9a-f]+)"', fetch(next(iter(site.expected_article_urls())))[2].decode())
        assert topic is not None
        assert fetch(site.url(topic.group(1)))[0] == 200


def test_sources_file_is_valid_and_reaches_every_site(universe: Universe, tmp_path: Path) -> None:
    sources = load_sources(write_sources_file(universe, tmp_path / "sources.yaml"))
    assert {s.name for s in sources} == set(universe.sites)
    for source in sources:
        site = universe.sites[source.name]
        assert source.feeds == [site.url("/rss.xml")]
        assert all(re.search(source.article_pattern or "", url) for url in site.expected_article_urls())


def test_a_record_published_while_running_tops_the_feed(corpus: tuple[CorpusArticle, ...]) -> None:
    template = next(a for a in corpus if a.lang == "en" and KARABAKH in a.expected_rules)
    fresh = template.model_copy(update={"id": "en-99", "published": datetime.now(timezone.utc).replace(microsecond=0)})
    with corpus_universe() as served:
        site = served.sites["caucasus-wire"]
        assert isinstance(site, CorpusSite)
        url = site.publish_record(fresh)
        assert locs(fetch(site.url("/rss.xml"))[2])[1] == url  # [0] is the channel link
        assert record_urls(served)[url].id == "en-99"
        assert template.paragraphs[0] in fetch(url)[2].decode()
        with pytest.raises(ValueError):
            site.publish(1)


# -- extraction ------------------------------------------------------------------


@pytest.fixture(scope="module")
def extracted(universe: Universe) -> dict[str, tuple[CorpusArticle, str, str]]:
    """id -> (record, extracted title, extracted body + description)."""
    found = {}
    for url, record in record_urls(universe).items():
        status, content_type, body = fetch(url)
        page = FetchedPage(url=url, final_url=url, status=status, headers={"content-type": content_type},
                           fetched_at=datetime.now(timezone.utc), source="corpus", body_zstd=compress(body))
        article = extract_article(page, min_chars=200)
        found[record.id] = (record, article.title or "", f"{article.body}\n{article.description or ''}")
    return found


def test_extraction_keeps_every_paragraph_and_the_title(extracted: dict[str, tuple[CorpusArticle, str, str]]) -> None:
    for record, title, text in extracted.values():
        # exactly, Persian zero-width non-joiners included (قره‌باغ stays one word)
        assert title == record.title, record.id
        for paragraph in record.paragraphs:
            assert paragraph in text, (record.id, paragraph[:40])


def test_extraction_drops_sidebar_related_ticker_menu_and_comments(
    extracted: dict[str, tuple[CorpusArticle, str, str]], universe: Universe
) -> None:
    for site in universe.sites.values():
        assert isinstance(site, CorpusSite)
        for article in site.articles:
            record, title, text = extracted[site.records[article.k].id]
            furniture = site.furniture(article)
            shown = [link.text for link in (*furniture.trending, *furniture.ticker, *furniture.most_read, *furniture.related)]
            for leftover in (*shown, *furniture.comments):
                # else the check below would prove nothing
                assert leftover not in record.text, (record.id, leftover)
                assert leftover not in f"{title}\n{text}", (record.id, leftover)


def test_extracted_negatives_never_mention_karabakh(extracted: dict[str, tuple[CorpusArticle, str, str]]) -> None:
    stems = tuple(s.replace(ZWNJ, "") for s in KARABAKH_STEMS)
    for record, title, text in extracted.values():
        assert mentions(f"{title}\n{text}".replace(ZWNJ, ""), stems) == (KARABAKH in record.expected_rules), record.id

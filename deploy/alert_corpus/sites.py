"""The corpus served as three news sites on loopback: an Arabic and a
Persian site (RTL) and a multilingual Caucasus agency with English, Russian
and Azerbaijani editions. Built on the fixture universe's ``NewsSite`` and
``Universe``, so serving, conditional GET and the request log are the same
as for the crawler fixtures.

Every site has an RSS feed and a sitemap listing all its articles, named in
robots.txt, plus edition/section pages; ``Universe.sources_yaml()`` gives the
sources file for ``rasd crawl``.
"""
from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from deploy.alert_corpus.corpus import CorpusArticle, load_corpus
from deploy.alert_corpus.page import Furniture, Link, article_html
from deploy.universe import feeds
from deploy.universe.lang import AR, EN, FA, LANGS, Lang
from deploy.universe.server import Universe
from deploy.universe.sites import HTML, Article, NewsSite, Request, Response, text_response

# Above the fixture universe (127.0.0.11..) and below the generated one
# (127.0.0.101..), so all three can run in one process.
CORPUS_FIRST_HOST = 61
ARTICLE_PATTERN = r"/news/\d{4}/\d{2}/\d{2}/\d+\.html$"
# Article numbers: language block + the id's number, so URLs never move.
_NUMBER_BASE = {"ar": 41000, "fa": 52000, "en": 63000, "ru": 74000, "az": 85000}
_AZ_PEOPLE = ("Elvin Məmmədov", "Günel Əliyeva", "Rəşad Hüseynov", "Nərmin Quliyeva", "Tural Babayev")
_AZ_COMMENTS = ("Çox maraqlı yazıdır", "Görək nə vaxt həyata keçəcək", "Təşəkkürlər, ətraflı məlumat")

_MULTI = replace(EN, sections={"en": "English", "ru": "Русский", "az": "Azərbaycanca"})


@dataclass(frozen=True)
class SiteSpec:
    name: str
    title: str
    lang: Lang
    languages: tuple[str, ...]
    trending: tuple[str, ...]  # the site-wide trending-topics menu


SPECS: tuple[SiteSpec, ...] = (
    SiteSpec("nabaa", "النبأ اليوم", AR, ("ar",), ("ملف الانتخابات البلدية", "نشرة أسعار النفط", "جدول ترتيب الدوري")),
    SiteSpec("payam", "پیام امروز", FA, ("fa",), ("نرخ لحظه‌ای ارز", "جدول لیگ برتر", "شاخص کیفیت هوا امروز")),
    SiteSpec("caucasus-wire", "Caucasus Wire", _MULTI, ("en", "ru", "az"), ("Energy markets", "Transport links", "Culture guide")),
)


def _slug(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:10]


class CorpusSite(NewsSite):
    """A news site whose articles are corpus records instead of generated text."""

    announced_feeds = (("application/rss+xml", "/rss.xml", "RSS"),)

    def __init__(self, spec: SiteSpec, records: list[CorpusArticle]) -> None:
        if not records:
            raise ValueError(f"site {spec.name!r} has no corpus articles")
        self.spec = spec
        self.section_keys = spec.languages if len(spec.languages) > 1 else tuple(spec.lang.sections)
        # Read by _make() during NewsSite.__init__: set first.
        self._records = sorted(records, key=lambda r: r.published)
        self._topics: dict[str, str] = {}
        super().__init__(spec.name, spec.lang, title=spec.title, count=len(self._records), first_number=0,
                         spacing=timedelta(hours=1), anchor=self._records[-1].published)

    # -- NewsSite hooks ------------------------------------------------------

    def _make(self, k: int, published: datetime) -> Article:
        # The numbered sequence IS the corpus: position k is the k-th record
        # by date (the base class passes a synthetic date, ignored here).
        record = self._records[k]
        number = _NUMBER_BASE[record.lang] + int(record.id.split("-")[1])
        section = record.lang if len(self.spec.languages) > 1 else self.section_keys[k % len(self.section_keys)]
        people = LANGS[record.lang].people if record.lang in LANGS else _AZ_PEOPLE
        when = record.published
        return Article(
            k=k, number=number, section=section, title=record.title, summary=record.summary,
            author=random.Random(f"{self.name}:{record.id}").choice(people), published=when,
            path=f"/{record.lang}/news/{when:%Y/%m/%d}/{number}.html",
        )

    def section_path(self, key: str) -> str:
        # The multilingual site's sections are its language editions.
        return f"/{key}/" if len(self.spec.languages) > 1 else f"/section/{key}/"

    def setup(self) -> None:
        for record in self._records:
            self._topic_links([*record.menu, *record.ticker, *record.sidebar, *record.related])
        self._topic_links(list(self.spec.trending))
        self.route("/rss.xml", lambda r: self.rss_response("/rss.xml", (self.feed_item(a) for a in self.newest())))
        self.route("/sitemap.xml", lambda r: self.xml_response(feeds.urlset((self.url(a.path), a.published) for a in self.newest())))
        self.route("/news-sitemap.xml", lambda r: self.news_sitemap_response(self.newest()))

    def robots_txt(self) -> str:
        return (
            "User-agent: *\nDisallow: /search\nDisallow: /comments\n\n"
            f"Sitemap: {self.url('/sitemap.xml')}\nSitemap: {self.url('/news-sitemap.xml')}\n"
        )

    def source_entry(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "feeds": [self.url("/rss.xml")],
            "sitemaps": [self.url("/robots.txt")],
            "sections": [self.url(self.section_path(k)) for k in self.section_keys],
            "article_pattern": ARTICLE_PATTERN,
        }

    def dynamic(self, request: Request) -> Response | None:
        # Trending/ticker/most-read entries that are not articles lead to topic pages.
        if request.path.startswith("/topics/"):
            heading = self._topics.get(request.path.removeprefix("/topics/"))
            if heading is not None:
                return self.listing_page(heading, self.newest(10))
        return None

    def article_response(self, article: Article) -> Response:
        record = self._records[article.k]
        html = article_html(self, article, record, self.furniture(article), self.url(article.path))
        return text_response(html, HTML, changed=article.published)

    def publish(self, count: int = 1) -> list[str]:
        if len(self._records) < len(self.articles) + count:
            raise ValueError("a corpus site publishes corpus records only: use publish_record()")
        return super().publish(count)

    # -- corpus API ----------------------------------------------------------

    @property
    def records(self) -> list[CorpusArticle]:
        return list(self._records[: len(self.articles)])

    def publish_record(self, record: CorpusArticle) -> str:
        """Put a new record on the site now (top of feed and sitemap); its URL."""
        if record.lang not in self.spec.languages:
            raise ValueError(f"site {self.name!r} does not publish {record.lang!r} articles")
        self._records.append(record)
        return self.publish(1)[0]

    def record_urls(self) -> dict[str, CorpusArticle]:
        """Article URL -> the record it serves."""
        return {self.url(a.path): self._records[a.k] for a in self.articles}

    def furniture(self, article: Article) -> Furniture:
        """What the page of ``article`` shows around it: the record's own
        extras first, then other articles labelled for no rule (so furniture
        only carries a keyword where the record says so)."""
        record = self._records[article.k]
        neutral = [a for a in self.articles if a.k != article.k and not self._records[a.k].expected_rules]
        rng = random.Random(f"{self.name}:{record.id}:furniture")
        picks = rng.sample(neutral, min(len(neutral), 8))
        links = [Link(a.title, a.path) for a in picks]
        comments = LANGS[record.lang].comments if record.lang in LANGS else _AZ_COMMENTS
        return Furniture(
            trending=self._topic_links([*record.menu, *self.spec.trending]),
            ticker=self._topic_links(record.ticker) + links[:2],
            most_read=self._topic_links(record.sidebar) + links[2:6],
            related=self._topic_links(record.related) + links[6:8],
            comments=[*record.comments, *rng.sample(comments, 2)],
        )

    def _topic_links(self, texts: list[str]) -> list[Link]:
        found = []
        for text in texts:
            slug = _slug(text)
            self._topics[slug] = text
            found.append(Link(text, f"/topics/{slug}"))
        return found


def corpus_sites(records: tuple[CorpusArticle, ...] | None = None) -> list[CorpusSite]:
    records = load_corpus() if records is None else records
    return [CorpusSite(spec, [r for r in records if r.lang in spec.languages]) for spec in SPECS]


def corpus_universe(*, first_host: int = CORPUS_FIRST_HOST, port_base: int = 0) -> Universe:
    """The corpus sites, not yet serving: ``with corpus_universe() as u:``."""
    return Universe(corpus_sites(), first_host=first_host, port_base=port_base)


def record_urls(universe: Universe) -> dict[str, CorpusArticle]:
    """Every served article URL of a started corpus universe -> its record."""
    found: dict[str, CorpusArticle] = {}
    for site in universe.sites.values():
        if isinstance(site, CorpusSite):
            found.update(site.record_urls())
    return found


def write_sources_file(universe: Universe, path: Path) -> Path:
    """The ``rasd crawl`` sources file for a started corpus universe."""
    path.write_text(universe.sources_yaml(), encoding="utf-8")
    return path


__all__ = ["ARTICLE_PATTERN", "CorpusSite", "SPECS", "SiteSpec", "corpus_sites", "corpus_universe",
           "record_urls", "write_sources_file"]

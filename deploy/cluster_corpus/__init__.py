"""Fixture corpus for story clusters (ingest.clusters): Arabic news pages of
four fictional outlets, each in its own layout (RTL, menus, tickers,
sidebars, footer).

- ``WIRE_STORY``: one agency story (the Egyptian central bank holding its
  rates) republished by three outlets, each with its own headline: al-Wasat
  runs it as sent; Nabd al-Souq edits a few words, writes the rates as "%"
  and adds a paragraph of its own on the stock market; al-Mirsad recasts
  the opening sentence, moves paragraphs and swaps sentences. al-Rased
  syndicates al-Wasat's body word for word (the exact duplicate).
- ``TOPIC_STORIES``: three different stories on the same topic (Egyptian
  monetary policy): October inflation figures, an IMF review, a treasury
  bill auction. They share the names and vocabulary of the wire story
  (البنك المركزي المصري, لجنة السياسة النقدية, التضخم, أذون الخزانة ...)
  but report other events.

``pages()`` gives every page with its HTML and its body text (the article's
paragraphs, one per line, read from the page itself so the two never
disagree); ``page(name)`` one of them.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from lxml import html as lxml_html

WIRE_STORY = "cbe-rates-hold"
TOPIC_STORIES = ("egypt-inflation-october", "imf-fifth-review", "tbill-auction")

# The three republished copies, in publication order, and the exact duplicate.
WIRE_COPIES = ("wire_alwasat", "wire_nabd", "wire_mirsad")
EXACT_DUPLICATE = "wire_rased_copy"
DUPLICATE_OF = "wire_alwasat"


@dataclass(frozen=True)
class Site:
    source: str
    host: str
    # where the site puts the article's paragraphs
    body_xpath: str


SITES = {
    "al-wasat": Site("al-wasat", "alwasat-news.example", "//div[@class='article-body']/p"),
    "nabd-alsouq": Site("nabd-alsouq", "nabdalsouq.example", "//div[@id='story-content']/p"),
    "al-mirsad": Site("al-mirsad", "almirsad.example", "//div[@class='entry-content']/p"),
    "al-rased": Site("al-rased", "alrased.example", "//div[@class='news-text']/p"),
}

# name (the .html file), site, path on the site, story
_PAGES = (
    ("wire_alwasat", "al-wasat", "/economy/2026/11/19/cbe-holds-rates-third-time.html", WIRE_STORY),
    ("wire_nabd", "nabd-alsouq", "/markets/banks/98231", WIRE_STORY),
    ("wire_mirsad", "al-mirsad", "/ar/article/egypt-rates-hold-inflation-bet", WIRE_STORY),
    ("wire_rased_copy", "al-rased", "/economy/2026-11-20/central-bank-rates", WIRE_STORY),
    ("topic_inflation_alwasat", "al-wasat", "/economy/2026/11/10/urban-inflation-october.html",
     "egypt-inflation-october"),
    ("topic_imf_nabd", "nabd-alsouq", "/markets/97840", "imf-fifth-review"),
    ("topic_tbills_mirsad", "al-mirsad", "/ar/article/tbill-yields-fall-foreign-inflows", "tbill-auction"),
)


@dataclass(frozen=True)
class CorpusPage:
    name: str
    url: str
    source: str
    story: str
    headline: str
    html: bytes
    # the article's paragraphs joined by "\n" (no headline: outlets change it)
    text: str


def _text(node: lxml_html.HtmlElement) -> str:
    return " ".join(node.text_content().split())


def _load(name: str, source: str, path: str, story: str) -> CorpusPage:
    site = SITES[source]
    raw = resources.files(__name__).joinpath(f"{name}.html").read_bytes()
    tree = lxml_html.fromstring(raw)
    paragraphs = [_text(p) for p in tree.xpath(site.body_xpath)]
    return CorpusPage(
        name=name,
        url=f"https://{site.host}{path}",
        source=source,
        story=story,
        headline=_text(tree.xpath("//h1")[0]),
        html=raw,
        text="\n".join(p for p in paragraphs if p),
    )


@lru_cache(maxsize=1)
def _all() -> tuple[CorpusPage, ...]:
    return tuple(_load(*spec) for spec in _PAGES)


def pages() -> list[CorpusPage]:
    """Every page of the corpus: the wire copies first, in publication
    order, then the exact duplicate, then the same-topic stories."""
    return list(_all())


def page(name: str) -> CorpusPage:
    for candidate in _all():
        if candidate.name == name:
            return candidate
    raise KeyError(name)


def by_story(story: str) -> list[CorpusPage]:
    return [p for p in _all() if p.story == story]


__all__ = [
    "DUPLICATE_OF", "EXACT_DUPLICATE", "SITES", "TOPIC_STORIES", "WIRE_COPIES", "WIRE_STORY", "CorpusPage",
    "Site", "by_story", "page", "pages",
]

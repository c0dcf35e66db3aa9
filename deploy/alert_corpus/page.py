"""HTML of a corpus article page: the article inside the furniture a real
news page carries (cookie banner, menus, a trending-topics bar, a
breaking-news ticker, "most read", related links, comments, footer).

The furniture is where the hard negatives hide a keyword, so it is laid out
the way well-behaved news sites do it (nav/aside/footer, ticker in the
header, related and comments after the article) and the article body is a
plain <article> with <p> paragraphs: extraction must keep exactly the body.
Site-wide parts come from the universe's cached ``Chrome``.
"""
from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING

from deploy.universe import render
from deploy.universe.lang import LANGS

if TYPE_CHECKING:
    from deploy.alert_corpus.corpus import CorpusArticle
    from deploy.universe.sites import Article, NewsSite

_AZ_MONTHS = ("yanvar", "fevral", "mart", "aprel", "may", "iyun", "iyul", "avqust", "sentyabr", "oktyabr", "noyabr", "dekabr")


@dataclass(frozen=True)
class Words:
    """Page labels the universe's languages do not have."""

    breaking: str
    trending: str
    direction: str = "ltr"


WORDS: dict[str, Words] = {
    "ar": Words("عاجل", "الأكثر تداولا", "rtl"),
    "fa": Words("فوری", "موضوعات داغ", "rtl"),
    "en": Words("Breaking", "Trending"),
    "ru": Words("Срочно", "Темы дня"),
    "az": Words("Təcili", "Günün mövzuları"),
}


@dataclass(frozen=True)
class Link:
    text: str
    href: str


@dataclass(frozen=True)
class Furniture:
    """What one page shows around its article, already resolved to links."""

    trending: list[Link]
    ticker: list[Link]
    most_read: list[Link]
    related: list[Link]
    comments: list[str]


def date_text(record: CorpusArticle) -> str:
    moment = record.published
    months = LANGS[record.lang].months if record.lang in LANGS else _AZ_MONTHS
    return f"{moment.day} {months[moment.month - 1]} {moment.year} {moment:%H:%M}"


def _links(links: list[Link]) -> str:
    return "".join(f'<li><a href="{escape(x.href)}">{escape(x.text)}</a></li>' for x in links)


def _header(site: NewsSite, words: Words, furniture: Furniture) -> str:
    ch = render.chrome(site)
    trending = (
        f'<nav class="trending-topics" aria-label="{escape(words.trending)}"><span class="label">{escape(words.trending)}</span>'
        f"<ul>{_links(furniture.trending)}</ul></nav>"
    )
    ticker = (
        f'<div class="breaking-news ticker" role="marquee" aria-live="off"><span class="label">{escape(words.breaking)}</span>'
        f'<ul class="ticker-items">{_links(furniture.ticker)}</ul></div>'
    )
    return ch.cookie + ch.header + trending + ticker + ch.ad("leaderboard")


def _article(site: NewsSite, article: Article, record: CorpusArticle, canonical: str) -> str:
    ch = render.chrome(site)
    labels = ch.esc
    iso = record.published.isoformat(timespec="seconds")
    body = "".join(f"<p>{escape(p)}</p>" for p in record.paragraphs)
    share = (
        f'<div class="share"><span>{labels["share"]}</span>'
        f'<a class="share-x" href="https://x.com/intent/post?url={escape(canonical)}">X</a></div>'
    )
    return (
        f'<nav class="breadcrumb"><a href="/">{labels["home"]}</a> › {ch.section_links[article.section]}</nav>'
        f'<article class="story" lang="{record.lang}"><header><h1>{escape(record.title)}</h1>'
        f'<p class="byline">{labels["by"]} <span class="author">{escape(article.author)}</span> · '
        f'<time datetime="{iso}">{escape(date_text(record))}</time></p></header>'
        f'<figure><img src="/static/img/{article.number}.gif" alt="" width="800" height="450">'
        f"<figcaption>{labels['caption']}</figcaption></figure>"
        f'<div class="story-body">{body}</div>{share}</article>'
    )


def _tail(site: NewsSite, furniture: Furniture) -> str:
    labels = render.chrome(site).esc
    comments = "".join(f'<div class="comment"><p>{escape(c)}</p></div>' for c in furniture.comments)
    return (
        f'<section class="related"><h2>{labels["related"]}</h2><ul>{_links(furniture.related)}</ul></section>'
        f'<section class="comments" id="comments"><h2>{labels["comments"]} ({len(furniture.comments)})</h2>{comments}'
        f'<form class="comment-form" action="/comments" method="post"><textarea name="body"></textarea>'
        f'<button>{labels["send"]}</button></form></section>'
    )


def _sidebar(site: NewsSite, furniture: Furniture) -> str:
    ch = render.chrome(site)
    return (
        f'<section class="most-read"><h2>{ch.esc["most_read"]}</h2><ol>{_links(furniture.most_read)}</ol></section>'
        + ch.ad("mpu") + ch.newsletter
    )


def article_html(site: NewsSite, article: Article, record: CorpusArticle, furniture: Furniture, canonical: str) -> str:
    words = WORDS[record.lang]
    head = render.article_head(site, article, canonical)
    return (
        f'<!DOCTYPE html>\n<html lang="{record.lang}" dir="{words.direction}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{escape(record.title)} | {escape(site.title)}</title>'
        f'{head}<link rel="stylesheet" href="/static/site.css"></head>'
        f'<body class="layout-semantic">{_header(site, words, furniture)}'
        f'<div class="container"><main id="main">{_article(site, article, record, canonical)}{_tail(site, furniture)}</main>'
        f'<aside class="sidebar">{_sidebar(site, furniture)}</aside></div>{render.chrome(site).footer}</body></html>'
    )

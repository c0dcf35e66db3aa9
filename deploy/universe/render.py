"""HTML for article, listing and static pages, in three house layouts.

``semantic`` uses header/nav/main/article/aside/footer; ``divsoup`` is the
table-and-div markup of older Arabic portals (no <article>, paragraphs split
by <br>); ``magazine`` is a French-press layout with JSON-LD and an ad in the
middle of the body. All carry the furniture extractors must strip: cookie
banner, menus, breadcrumb, ads, share buttons, "most read", related links,
comments and footer.

Everything except the article-specific parts is rendered once per site and
cached, because the generated benchmark universe renders pages per request.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass
from functools import cached_property
from html import escape
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from deploy.universe.sites import Article, NewsSite

LAYOUTS = ("semantic", "divsoup", "magazine")


def _a(href: str, text: str, cls: str = "") -> str:
    klass = f' class="{cls}"' if cls else ""
    return f'<a href="{escape(href)}"{klass}>{escape(text)}</a>'


@dataclass
class Chrome:
    """Per-site page parts that do not depend on the article or base URL."""

    site: NewsSite

    @cached_property
    def labels(self) -> dict[str, str]:
        return self.site.lang.labels

    @cached_property
    def esc(self) -> dict[str, str]:
        """Labels, HTML-escaped once."""
        return {key: escape(value) for key, value in self.labels.items()}

    @cached_property
    def section_links(self) -> dict[str, str]:
        return {key: _a(self.site.section_path(key), label) for key, label in self.site.lang.sections.items()}

    def link(self, article: Article) -> str:
        # Most-read and related boxes repeat the same few links on every page.
        found = self._links.get(article.number)
        if found is None:
            found = self._links[article.number] = _a(article.path, article.title)
        return found

    @cached_property
    def _links(self) -> dict[int, str]:
        return {}

    @cached_property
    def menu(self) -> str:
        items = [_a("/", self.labels["home"])]
        items += [_a(self.site.section_path(key), self.site.lang.sections[key]) for key in self.site.section_keys]
        if self.site.layout == "divsoup":
            return '<div class="menu">' + " | ".join(items) + "</div>"
        return '<nav class="main-menu"><ul>' + "".join(f"<li>{i}</li>" for i in items) + "</ul></nav>"

    @cached_property
    def cookie(self) -> str:
        lb = self.labels
        return (
            f'<div class="cookie-banner" id="cookie-consent"><p>{escape(lb["cookie"])}</p>'
            f'<button type="button" class="cookie-accept">{escape(lb["accept"])}</button> '
            f'{_a("/privacy", lb["privacy"])}</div>'
        )

    def ad(self, slot: str) -> str:
        lb = self.labels
        return (
            f'<div class="ad ad-{slot}" data-ad-slot="{slot}"><span class="ad-label">{escape(lb["ad"])}</span>'
            f'<a href="https://ads.example.net/click?slot={slot}&amp;site={quote(self.site.name)}" rel="sponsored nofollow">'
            f'{escape(lb["ad_text"])}</a></div>'
        )

    @cached_property
    def footer(self) -> str:
        lb = self.labels
        links = " ".join(_a(f"/{key}", lb[key]) for key in ("about", "contact", "privacy"))
        text = f'<div class="footer-links">{links}</div><p class="copyright">© 2026 {escape(self.site.title)} — {escape(lb["rights"])}</p>'
        if self.site.layout == "divsoup":
            return f'<div id="bottom">{text}</div>'
        return f'<footer class="site-footer" role="contentinfo">{text}</footer>'

    @cached_property
    def header(self) -> str:
        lb = self.labels
        logo = f'<div class="logo">{_a("/", self.site.title)}</div>'
        search = f'<form class="search" action="/search" method="get"><input type="search" name="q" placeholder="{escape(lb["search"])}"></form>'
        if self.site.layout == "divsoup":
            return f'<div id="top">{logo}{self.menu}</div>'
        return f'<header class="site-header" role="banner">{logo}{self.menu}{search}</header>'

    @cached_property
    def newsletter(self) -> str:
        lb = self.labels
        return (
            f'<div class="newsletter"><h3>{escape(lb["newsletter"])}</h3><form action="/newsletter" method="post">'
            f'<input type="email" name="email"><button>{escape(lb["send"])}</button></form></div>'
        )


def chrome(site: NewsSite) -> Chrome:
    # Stored on the site so the cache dies with it (no global registry).
    found = site.__dict__.get("_chrome")
    if found is None:
        found = site.__dict__["_chrome"] = Chrome(site)
    return found


def page(site: NewsSite, *, title: str, head: str, main: str, sidebar: str, charset: str = "utf-8") -> str:
    ch = chrome(site)
    lang = site.lang
    top = (
        f'<!DOCTYPE html>\n<html lang="{lang.code}" dir="{lang.direction}"><head><meta charset="{charset}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title>{head}"
        '<link rel="stylesheet" href="/static/site.css"><link rel="icon" href="/static/favicon.gif"></head>'
    )
    if site.layout == "divsoup":
        return (
            f'{top}<body><div id="wrapper">{ch.cookie}{ch.header}{ch.ad("banner")}'
            '<table class="layout" width="100%" cellpadding="0" cellspacing="0"><tr>'
            f'<td class="content" valign="top">{main}</td><td class="side" width="300" valign="top">{sidebar}</td>'
            f"</tr></table>{ch.footer}</div></body></html>"
        )
    return (
        f'{top}<body class="layout-{site.layout}">{ch.cookie}{ch.header}{ch.ad("leaderboard")}'
        f'<div class="container"><main id="main">{main}</main><aside class="sidebar">{sidebar}</aside></div>'
        f"{ch.footer}</body></html>"
    )


def _box(site: NewsSite, cls: str, heading: str, inner: str) -> str:
    if site.layout == "divsoup":
        return f'<div class="box {cls}"><div class="box-title">{escape(heading)}</div>{inner}</div>'
    return f'<section class="{cls}"><h2>{escape(heading)}</h2>{inner}</section>'


def sidebar(site: NewsSite, most_read: list[Article], extra: str = "") -> str:
    ch = chrome(site)
    items = "".join(f"<li>{ch.link(a)}</li>" for a in most_read)
    return _box(site, "most-read", ch.labels["most_read"], f"<ol>{items}</ol>") + ch.ad("mpu") + extra + ch.newsletter


def _share(site: NewsSite, url: str) -> str:
    u = quote(url, safe="")
    cls = "share-icons" if site.layout == "divsoup" else "share"
    return (
        f'<div class="{cls}"><span>{escape(chrome(site).labels["share"])}</span>'
        f'<a class="share-facebook" href="https://www.facebook.com/sharer/sharer.php?u={u}">Facebook</a>'
        f'<a class="share-x" href="https://x.com/intent/post?url={u}">X</a>'
        f'<a class="share-whatsapp" href="https://wa.me/?text={u}">WhatsApp</a></div>'
    )


def _comments(site: NewsSite, rng: random.Random) -> str:
    lang = site.lang
    lb = lang.labels
    picked = rng.sample(lang.comments, rng.randint(1, 3)) if lang.comments else []
    items = "".join(
        f'<div class="comment"><span class="comment-author">{escape(rng.choice(lang.people).split()[0])}</span>'
        f"<p>{escape(text)}</p></div>"
        for text in picked
    )
    form = (
        f'<form class="comment-form" action="/comments" method="post"><label>{escape(lb["add_comment"])}</label>'
        f'<textarea name="body"></textarea><button>{escape(lb["send"])}</button></form>'
    )
    return _box(site, "comments", f'{lb["comments"]} ({len(picked)})', items + form)


def _related(site: NewsSite, related: list[Article]) -> str:
    ch = chrome(site)
    items = "".join(f"<li>{ch.link(a)}</li>" for a in related)
    return _box(site, "related", site.lang.labels["related"], f"<ul>{items}</ul>")


def _breadcrumb(site: NewsSite, article: Article, title: str, sep: str) -> str:
    ch = chrome(site)
    return (
        f'<nav class="breadcrumb"><a href="/">{ch.esc["home"]}</a> {sep} '
        f"{ch.section_links[article.section]} {sep} <span>{title}</span></nav>"
    )


def article_head(site: NewsSite, article: Article, canonical: str) -> str:
    iso = article.published.isoformat(timespec="seconds")
    head = (
        f'<meta name="description" content="{escape(article.summary)}">'
        '<meta property="og:type" content="article">'
        f'<meta property="og:title" content="{escape(article.title)}">'
        f'<meta property="og:url" content="{escape(canonical)}">'
        f'<meta property="og:site_name" content="{escape(site.title)}">'
        f'<meta property="article:published_time" content="{iso}">'
        f'<link rel="canonical" href="{escape(canonical)}">'
    )
    if site.layout == "magazine":
        ld = {
            "@context": "https://schema.org", "@type": "NewsArticle", "headline": article.title,
            "datePublished": iso, "author": {"@type": "Person", "name": article.author},
            "mainEntityOfPage": canonical, "publisher": {"@type": "Organization", "name": site.title},
        }
        head += f'<script type="application/ld+json">{json.dumps(ld, ensure_ascii=False)}</script>'
    return head


def article_main(site: NewsSite, article: Article, paragraphs: list[str], related: list[Article], canonical: str) -> str:
    rng = random.Random(f"{site.rng_key}:{article.number}:furniture")
    ch = chrome(site)
    lb = ch.esc
    title = escape(article.title)
    iso = article.published.isoformat(timespec="seconds")
    when = f'<time datetime="{iso}">{escape(site.lang.date_text(article.published))}</time>'
    figure_img = f'<img src="/static/img/{article.number}.gif" alt="{title}" width="800" height="450">'
    tags = "".join(f"<li>{escape(t)}</li>" for t in rng.sample(list(site.lang.sections.values()), 2))
    tail = _related(site, related) + _comments(site, rng)
    share = _share(site, canonical)
    if site.layout == "divsoup":
        body = "<br /><br />".join(escape(p) for p in paragraphs)
        return (
            f'<div class="path"><a href="/">{lb["home"]}</a> &gt; {ch.section_links[article.section]}</div>'
            f'<div class="news-title"><h1 class="title">{title}</h1></div>'
            f'<div class="news-info"><span class="writer">{escape(article.author)}</span> | {when}</div>'
            f'<div class="news-img">{figure_img}<div class="img-caption">{lb["caption"]}</div></div>'
            f'<div id="NewsStory" class="news-text">{body}</div>{share}{tail}'
        )
    ps = [f"<p>{escape(p)}</p>" for p in paragraphs]
    if site.layout == "magazine":
        ps.insert(min(2, len(ps)), ch.ad("inread"))
        return (
            '<article class="article" itemscope itemtype="https://schema.org/NewsArticle">'
            + _breadcrumb(site, article, title, "›")
            + f'<header class="article__header"><p class="article__kicker">{escape(site.lang.sections[article.section])}</p>'
            f'<h1 class="article__title" itemprop="headline">{title}</h1>'
            f'<p class="article__desc">{escape(article.summary)}</p>'
            f'<div class="article__meta"><span class="author">{lb["by"]} {escape(article.author)}</span> {when}</div></header>'
            f'<figure class="article__media">{figure_img}<figcaption>{lb["caption"]}</figcaption></figure>'
            f'<section class="article__content" itemprop="articleBody">{"".join(ps)}</section>'
            f'<footer class="article__footer">{share}<ul class="tags">{tags}</ul></footer></article>'
            + tail
        )
    return (
        _breadcrumb(site, article, title, "›")
        + f'<article class="story"><header><h1>{title}</h1>'
        f'<p class="byline">{lb["by"]} <span class="author">{escape(article.author)}</span> · {when}</p></header>'
        f"<figure>{figure_img}<figcaption>{lb['caption']}</figcaption></figure>"
        f'<div class="story-body">{"".join(ps)}</div>'
        f'<div class="tags"><h3>{lb["tags"]}</h3><ul>{tags}</ul></div>{share}</article>'
        + tail
    )


def listing_main(site: NewsSite, heading: str, articles: list[Article], extra: str = "") -> str:
    """A homepage/section/archive page: teasers linking articles (relative hrefs, as most sites write them)."""
    if site.layout == "divsoup":
        items = "".join(
            f'<div class="news-item">{_a(a.path, a.title, "news-link")}'
            f'<div class="date"><time datetime="{a.published.isoformat(timespec="seconds")}">{escape(site.lang.date_text(a.published))}</time></div>'
            f'<div class="brief">{escape(a.summary)}</div></div>'
            for a in articles
        )
        return f'<div class="block-title">{escape(heading)}</div><div class="news-list">{items}</div>{extra}'
    items = "".join(
        f'<li class="teaser"><h2>{_a(a.path, a.title)}</h2>'
        f'<time datetime="{a.published.isoformat(timespec="seconds")}">{escape(site.lang.date_text(a.published))}</time>'
        f"<p>{escape(a.summary)}</p></li>"
        for a in articles
    )
    return f'<h1 class="page-title">{escape(heading)}</h1><ul class="teasers">{items}</ul>{extra}'


def simple_main(heading: str, text: str) -> str:
    return f'<h1 class="page-title">{escape(heading)}</h1><p>{escape(text)}</p>'

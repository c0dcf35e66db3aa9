"""RSS 2.0, Atom, sitemap and Google News sitemap documents.

Only ever fed values that are fixed for a given site state (no "now"), so a
listing stays byte-identical, and its ETag stable, until something is
published.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from xml.sax.saxutils import escape, quoteattr

_SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
_NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"
_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'


@dataclass(frozen=True)
class FeedItem:
    title: str
    url: str
    published: datetime
    summary: str = ""
    guid: str = ""
    category: str = ""
    author: str = ""


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def rss(*, title: str, home: str, self_url: str, language: str, updated: datetime, items: Iterable[FeedItem]) -> str:
    entries = []
    for item in items:
        parts = [
            f"<item><title>{escape(item.title)}</title><link>{escape(item.url)}</link>",
            f'<guid isPermaLink="false">{escape(item.guid or item.url)}</guid>',
            f"<pubDate>{format_datetime(item.published)}</pubDate>",
        ]
        if item.category:
            parts.append(f"<category>{escape(item.category)}</category>")
        if item.author:
            parts.append(f"<dc:creator>{escape(item.author)}</dc:creator>")
        if item.summary:
            parts.append(f"<description>{escape(item.summary)}</description>")
        parts.append("</item>")
        entries.append("".join(parts))
    return (
        f'{_HEAD}<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<channel><title>{escape(title)}</title><link>{escape(home)}</link>"
        f'<atom:link href={quoteattr(self_url)} rel="self" type="application/rss+xml"/>'
        f"<description>{escape(title)}</description><language>{language}</language>"
        f"<lastBuildDate>{format_datetime(updated)}</lastBuildDate>{''.join(entries)}</channel></rss>"
    )


def atom(*, title: str, home: str, self_url: str, language: str, updated: datetime, items: Iterable[FeedItem]) -> str:
    entries = "".join(
        f"<entry><id>{escape(item.guid or item.url)}</id><title>{escape(item.title)}</title>"
        f'<link rel="alternate" type="text/html" href={quoteattr(item.url)}/>'
        f"<published>{iso(item.published)}</published><updated>{iso(item.published)}</updated>"
        f"<author><name>{escape(item.author or title)}</name></author>"
        f"<summary>{escape(item.summary)}</summary></entry>"
        for item in items
    )
    return (
        f'{_HEAD}<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{language}"><id>{escape(home)}</id>'
        f"<title>{escape(title)}</title><updated>{iso(updated)}</updated>"
        f'<link rel="self" type="application/atom+xml" href={quoteattr(self_url)}/>'
        f'<link rel="alternate" type="text/html" href={quoteattr(home)}/>{entries}</feed>'
    )


def sitemap_index(children: Iterable[tuple[str, datetime | None]]) -> str:
    body = "".join(
        f"<sitemap><loc>{escape(url)}</loc>{f'<lastmod>{iso(when)}</lastmod>' if when else ''}</sitemap>"
        for url, when in children
    )
    return f'{_HEAD}<sitemapindex xmlns="{_SITEMAP_NS}">{body}</sitemapindex>'


def urlset(urls: Iterable[tuple[str, datetime | None]]) -> str:
    body = "".join(
        f"<url><loc>{escape(url)}</loc>{f'<lastmod>{iso(when)}</lastmod>' if when else ''}</url>" for url, when in urls
    )
    return f'{_HEAD}<urlset xmlns="{_SITEMAP_NS}">{body}</urlset>'


def news_urlset(*, publication: str, language: str, items: Iterable[FeedItem]) -> str:
    body = "".join(
        f"<url><loc>{escape(item.url)}</loc><news:news><news:publication>"
        f"<news:name>{escape(publication)}</news:name><news:language>{language}</news:language></news:publication>"
        f"<news:publication_date>{iso(item.published)}</news:publication_date>"
        f"<news:title>{escape(item.title)}</news:title></news:news></url>"
        for item in items
    )
    return f'{_HEAD}<urlset xmlns="{_SITEMAP_NS}" xmlns:news="{_NEWS_NS}">{body}</urlset>'

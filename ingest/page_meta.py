"""Title, description, canonical URL, authors, site name, section, tags and
main image of a page, each with where it came from.

trafilatura's ``extract_metadata`` also searches the body for an author,
reads the licence and runs htmldate: together half of the extraction time.
Rasd reads dates itself (``ingest.published``), so it calls trafilatura's own
readers of meta tags, JSON-LD, <title> and <h1> directly, in the same order
as ``extract_metadata`` does, and leaves the slow searches out. What those
readers skip (``article:section``, JSON-LD ``keywords``) is read here."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import structlog
from lxml import etree
from lxml.html import HtmlElement
from trafilatura.metadata import examine_meta, extract_meta_json, extract_title, extract_url

log = structlog.get_logger(__name__)

_FIELDS = ("title", "description", "url", "author", "sitename", "image")


@dataclass(frozen=True)
class PageMeta:
    title: str | None = None
    description: str | None = None
    url: str | None = None
    authors: tuple[str, ...] = ()
    sitename: str | None = None
    section: str | None = None
    tags: tuple[str, ...] = ()
    image: str | None = None
    # field -> "meta" (meta tags, OpenGraph), "jsonld", "html_title" (<title>
    # or a headline element), "link" (<link rel=canonical>)
    origins: dict[str, str] = field(default_factory=dict)


def _split(value: str | None, sep: str) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(dict.fromkeys(v.strip() for v in value.split(sep) if v.strip()))


_JSON_LD_TYPE = "application/ld+json"
# the scripts trafilatura's JSON-LD reader reads
_JSON_TYPES = (_JSON_LD_TYPE, "application/settings+json")


# Compiled once: tree.xpath() compiles its expression on every call.
_SECTIONS = etree.XPath('//head/meta[@property="article:section" or @name="article:section"]/@content')
_JSON_LD = etree.XPath(f'//script[@type="{_JSON_LD_TYPE}"]/text()')


def _json_types(tree: HtmlElement) -> set[str]:
    """The JSON script types the page holds. Most pages hold none, and the
    JSON-LD readers (each an XPath search, trafilatura's compiled anew on
    every call) have nothing to read there."""
    return {kind for kind in (script.get("type") for script in tree.iter("script")) if kind in _JSON_TYPES}


def _sections(tree: HtmlElement) -> list[str]:
    return [v.strip() for v in _SECTIONS(tree) if v.strip()]


def _jsonld_values(tree: HtmlElement, key: str) -> list[Any]:
    found: list[Any] = []
    for script in _JSON_LD(tree):
        try:
            data = json.loads(script)
        except ValueError:
            continue
        stack = [data]
        while stack:
            node = stack.pop()
            if isinstance(node, list):
                stack.extend(node)
            elif isinstance(node, dict):
                if key in node:
                    found.append(node[key])
                stack.extend(node.get("@graph", []) if isinstance(node.get("@graph"), list) else [])
    return found


def _keywords(values: list[Any]) -> tuple[str, ...]:
    words: list[str] = []
    for value in values:
        items = value if isinstance(value, list) else str(value).split(",")
        words.extend(str(w).strip() for w in items if str(w).strip())
    return tuple(dict.fromkeys(words))


def page_metadata(tree: HtmlElement, default_url: str | None = None) -> PageMeta:
    meta = examine_meta(tree)
    # as trafilatura does: a one-word author meta tag is usually a site name
    if meta.author and " " not in meta.author:
        meta.author = None
    origins = {f: "meta" for f in _FIELDS if getattr(meta, f, None)}
    before = {f: getattr(meta, f, None) for f in _FIELDS}
    json_types = _json_types(tree)
    try:
        if json_types:
            meta = extract_meta_json(tree, meta)
    except Exception as exc:  # trafilatura's JSON-LD reader fails on some malformed blocks
        log.debug("json_ld_unreadable", error=repr(exc))
    origins.update({f: "jsonld" for f in _FIELDS if getattr(meta, f, None) and getattr(meta, f, None) != before[f]})

    title = meta.title
    if not title:
        title = extract_title(tree)
        if title:
            origins["title"] = "html_title"
    url = meta.url
    if not url:
        url = extract_url(tree, default_url)
        if url and url != default_url:
            origins["url"] = "link"

    section: str | None = None
    sections = _sections(tree)
    if sections:
        section, origins["section"] = sections[0], "meta"
    elif meta.categories:
        section, origins["section"] = meta.categories[0], "jsonld"

    tags = tuple(dict.fromkeys(t.strip() for raw in (meta.tags or []) for t in raw.split(",") if t.strip()))
    if tags:
        origins["tags"] = "meta"
    elif _JSON_LD_TYPE in json_types:
        tags = _keywords(_jsonld_values(tree, "keywords"))
        if tags:
            origins["tags"] = "jsonld"

    authors = _split(meta.author, ";")
    # keyed by the article's field names
    for theirs, ours in (("author", "authors"), ("sitename", "site_name")):
        if theirs in origins:
            origins[ours] = origins.pop(theirs)
    return PageMeta(
        title=title,
        description=meta.description,
        url=url,
        authors=authors,
        sitename=meta.sitename,
        section=section,
        tags=tags,
        image=meta.image,
        origins=origins,
    )

"""Title, description, canonical URL, author and site name of a page.

trafilatura's ``extract_metadata`` also searches the body for an author,
collects categories and tags, reads the licence and runs htmldate: together
half of the extraction time. Rasd reads dates itself (``ingest.published``)
and has no use for the rest yet, so it calls trafilatura's own readers of
meta tags, JSON-LD, <title> and <h1> directly, in the same order as
``extract_metadata`` does, and leaves the slow searches out."""
from __future__ import annotations

from dataclasses import dataclass

import structlog
from lxml.html import HtmlElement
from trafilatura.metadata import examine_meta, extract_meta_json, extract_title, extract_url

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class PageMeta:
    title: str | None
    description: str | None
    url: str | None
    author: str | None
    sitename: str | None


def page_metadata(tree: HtmlElement, default_url: str | None = None) -> PageMeta:
    meta = examine_meta(tree)
    # as trafilatura does: a one-word author meta tag is usually a site name
    if meta.author and " " not in meta.author:
        meta.author = None
    try:
        meta = extract_meta_json(tree, meta)
    except Exception as exc:  # trafilatura's JSON-LD reader fails on some malformed blocks
        log.debug("json_ld_unreadable", error=repr(exc))
    return PageMeta(
        title=meta.title or extract_title(tree),
        description=meta.description,
        url=meta.url or extract_url(tree, default_url),
        author=meta.author,
        sitename=meta.sitename,
    )

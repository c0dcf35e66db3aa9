"""A corpus of distinct Arabic articles for the fault tests: served by the
demo site, or as fetched pages put straight on the pages topic."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

from deploy.demo_site.content import DemoArticle, load_furniture, load_private_article
from deploy.demo_site.generate import generate_articles
from deploy.demo_site.render import SiteView, render_article_page
from ingest.models import FetchedPage, compress


def corpus(n: int, seed: int = 0) -> list[DemoArticle]:
    """``n`` generated articles whose every paragraph is their own: the
    generator recombines a few bundled texts, and lines a site repeats on
    four pages are learned as its boilerplate and removed, which would leave
    most of them empty."""
    return [
        dataclasses.replace(article, paragraphs=[f"{p} ({i}.{k})" for k, p in enumerate(article.paragraphs)])
        for i, article in enumerate(generate_articles(n, seed=seed))
    ]


def fetched_pages(articles: list[DemoArticle], base_url: str = "http://news.example") -> list[FetchedPage]:
    """The articles as the crawler would have fetched them from the demo site at ``base_url``."""
    view = SiteView(base_url, load_furniture(), articles, load_private_article().path)
    fetched_at = datetime.now(timezone.utc)
    pages = []
    for article in articles:
        url = view.url(article.path)
        pages.append(FetchedPage(
            url=url, final_url=url, status=200, headers={"content-type": f"text/html; charset={article.encoding}"},
            fetched_at=fetched_at, source="demo",
            body_zstd=compress(render_article_page(view, article).encode(article.encoding)),
        ))
    return pages

"""A "fixture universe" of news sites served on loopback for crawler tests
and the crawl benchmark.

Importing starts nothing; ``fixture_universe()`` / ``generated_universe()``
build a ``Universe`` and ``start()`` (or ``with``) serves it, each site on its
own 127.0.0.N address.
"""
from deploy.universe.fixtures import fixture_universe
from deploy.universe.generate import generated_universe
from deploy.universe.server import CRAWLER_HEADER, Hit, Universe
from deploy.universe.sites import Article, NewsSite, Request, Response

# The brief calls the site type "Site"; NewsSite is the only kind there is.
Site = NewsSite

__all__ = [
    "CRAWLER_HEADER", "Article", "Hit", "NewsSite", "Request", "Response", "Site", "Universe",
    "fixture_universe", "generated_universe",
]

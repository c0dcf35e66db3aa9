"""Bundled demo Arabic news site: content, page rendering, an HTTP server
with crawler-relevant features and faults, and a large-site generator."""
from deploy.demo_site.content import SIDEBAR_ONLY_WORD, DemoArticle, load_articles
from deploy.demo_site.generate import generate_articles
from deploy.demo_site.server import DemoSite

__all__ = ["SIDEBAR_ONLY_WORD", "DemoArticle", "DemoSite", "generate_articles", "load_articles"]

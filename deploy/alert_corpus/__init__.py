"""The labelled alert corpus (issue 6 acceptance) and the fixture news sites
that publish it.

``load_corpus()`` gives the labelled articles, ``RULES_FILE`` /
``rules_yaml(webhook_url)`` the rules they are labelled for, and
``corpus_universe()`` the sites serving them (``with corpus_universe() as u:``
then ``u.sources_yaml()`` for ``rasd crawl``, ``record_urls(u)`` to map a
crawled URL back to its labels). ``python -m deploy.alert_corpus`` serves
them by hand.
"""
from deploy.alert_corpus.corpus import (
    LANGUAGES,
    PLACEHOLDER_WEBHOOK,
    RULES_FILE,
    CorpusArticle,
    by_id,
    load_corpus,
    rule_names,
    rules_yaml,
)
from deploy.alert_corpus.sites import (
    ARTICLE_PATTERN,
    CorpusSite,
    corpus_sites,
    corpus_universe,
    record_urls,
    write_sources_file,
)

__all__ = [
    "ARTICLE_PATTERN", "LANGUAGES", "PLACEHOLDER_WEBHOOK", "RULES_FILE", "CorpusArticle", "CorpusSite", "by_id",
    "corpus_sites", "corpus_universe", "load_corpus", "record_urls", "rule_names", "rules_yaml", "write_sources_file",
]

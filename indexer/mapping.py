"""The articles index: analysis, field mappings and the index template, from
one source of truth shared by both engines.

Two custom analyzers carry the Arabic handling:
``rasd_ar_stem`` (recall for ordinary words) and ``rasd_ar_norm``
(normalization only: names, phrases, alert rules). Each is a chain of token
filters, all from Lucene's analysis-common: OpenSearch and the production
Elasticsearch have them in their analysis-common module, the local
Elasticsearch (Maven Central build, no such module) gets the same Lucene
filters under the same names from the stack's plugin
(``deploy/stack/es_analysis_plugin``). A filter an engine still lacks is left
out of the chain, so the analyzer names, the mappings and the queries stay
identical everywhere and only the quality of the matching degrades.

Latin and Cyrillic text (English, French, Russian ...) shares these fields:
one field holds every language, so no language's stemmer is applied. Such
text is lowercased and folded to ASCII (é -> e, ğ -> g), French elided
articles (l', d', qu' ...) and English possessives ('s) are removed, so a
word is found whatever its case, accents, article or possessive; other
inflections (plural, conjugation, Russian case endings) are matched only as
written.
"""
from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

ANALYZER_STEM = "rasd_ar_stem"
ANALYZER_NORM = "rasd_ar_norm"
STOP_FILTER = "rasd_ar_stop"

# The generation of the analysis and mappings. Bump it when they change in a
# way existing indices cannot take (analysis chains): `rasd index migrate`
# then moves the data to indices of the new generation.
TEMPLATE_VERSION = 2
TEMPLATE_PRIORITY = 200

ELISION_FILTER = "rasd_elision"
POSSESSIVE_FILTER = "rasd_en_possessive"
# French elided articles (Lucene's FrenchAnalyzer.DEFAULT_ARTICLES); the
# filter runs after lowercase, and handles both ' and ’.
ELISION_ARTICLES: tuple[str, ...] = ("l", "m", "t", "qu", "n", "s", "j", "d", "c", "jusqu", "quoiqu", "lorsqu", "puisqu")

# Custom filter definitions referenced by name in the chains below.
CUSTOM_FILTERS: dict[str, dict[str, Any]] = {
    STOP_FILTER: {"type": "stop", "stopwords": "_arabic_"},
    ELISION_FILTER: {"type": "elision", "articles": list(ELISION_ARTICLES)},
    POSSESSIVE_FILTER: {"type": "stemmer", "language": "possessive_english"},
}

# The Arabic stop list is written unnormalized (with hamza), so stop words
# must be removed BEFORE arabic_normalization or they would no longer match.
STEM_CHAIN: tuple[str, ...] = (
    "lowercase",
    ELISION_FILTER,  # l'Iran ~ Iran
    POSSESSIVE_FILTER,  # Iran's ~ Iran
    "decimal_digit",
    STOP_FILTER,
    "arabic_normalization",
    "persian_normalization",  # Persian yeh/keheh -> Arabic yeh/kaf
    "arabic_stem",
    "asciifolding",  # Qarabağ ~ qarabag
)
# No stemming and no stop words: exact names and phrases must survive.
NORM_CHAIN: tuple[str, ...] = (
    "lowercase",
    ELISION_FILTER,
    POSSESSIVE_FILTER,
    "decimal_digit",
    "arabic_normalization",
    "persian_normalization",
    "asciifolding",
)

CANDIDATE_FILTERS: tuple[str, ...] = tuple(dict.fromkeys(STEM_CHAIN + NORM_CHAIN))

# Persian writes compounds with a zero-width non-joiner (قره‌باغ); the
# standard tokenizer keeps it inside one token, so it becomes a word break
# (as in Lucene's PersianAnalyzer) and the compound matches its spaced form.
ZWNJ_CHAR_FILTER = "rasd_zwnj"
CUSTOM_CHAR_FILTERS: dict[str, dict[str, Any]] = {
    ZWNJ_CHAR_FILTER: {"type": "mapping", "mappings": ["\\u200C=>\\u0020"]},
}
CANDIDATE_CHAR_FILTERS: tuple[str, ...] = tuple(CUSTOM_CHAR_FILTERS)

# Article.origins keys (ingest.extraction) mapped as keywords
ORIGIN_FIELDS: tuple[str, ...] = (
    "charset", "body", "title", "description", "url", "authors", "site_name", "image", "section", "tags",
    "published_at", "modified_at", "language",
)

SEARCH_FIELDS: tuple[str, ...] = ("title^2", "title.norm^2", "body", "body.norm")


def probe_definition(name: str) -> str | dict[str, Any]:
    """How to name ``name`` inline in an ``_analyze`` request."""
    return CUSTOM_FILTERS.get(name, name)


def analysis_settings(available_filters: Collection[str]) -> dict[str, Any]:
    """``index.analysis`` built from the filters (token and char filters) the
    engine accepts."""
    available = set(available_filters)
    stem = [f for f in STEM_CHAIN if f in available]
    norm = [f for f in NORM_CHAIN if f in available]
    chars = [f for f in CANDIDATE_CHAR_FILTERS if f in available]
    custom = {name: body for name, body in CUSTOM_FILTERS.items() if name in available and name in stem + norm}
    stem_analyzer: dict[str, Any] = {"type": "custom", "tokenizer": "standard", "filter": stem}
    norm_analyzer: dict[str, Any] = {"type": "custom", "tokenizer": "standard", "filter": norm}
    if chars:
        stem_analyzer["char_filter"] = chars
        norm_analyzer["char_filter"] = chars
    analysis: dict[str, Any] = {"analyzer": {ANALYZER_STEM: stem_analyzer, ANALYZER_NORM: norm_analyzer}}
    if custom:
        analysis["filter"] = custom
    if chars:
        analysis["char_filter"] = {name: CUSTOM_CHAR_FILTERS[name] for name in chars}
    return analysis


def _keyword() -> dict[str, Any]:
    return {"type": "keyword"}


def _date(*, ignore_malformed: bool = False) -> dict[str, Any]:
    field: dict[str, Any] = {"type": "date"}
    if ignore_malformed:
        field["ignore_malformed"] = True
    return field


def article_properties() -> dict[str, Any]:
    """Field mappings of an indexed article (see ``indexer.documents``)."""
    return {
        # Short identifiers: no ignore_above, an immense value is a broken
        # article and the engine's rejection sends it to the dead letters.
        "id": _keyword(),
        "url": _keyword(),
        "fetched_url": _keyword(),
        "source": _keyword(),
        "domain": _keyword(),
        "language": _keyword(),
        "classification": _keyword(),
        "site_name": _keyword(),
        "section": _keyword(),
        "image": {"type": "keyword", "index": False, "doc_values": False},
        "charset": _keyword(),
        "word_count": {"type": "integer"},
        "furniture_removed": {"type": "integer"},
        "content_hash": _keyword(),
        "duplicate_of": _keyword(),
        # Story cluster: dashboards group republished copies of one story by it.
        "cluster_id": _keyword(),
        # Where each field came from (field name -> origin)
        "origins": {"type": "object", "properties": {name: _keyword() for name in ORIGIN_FIELDS}},
        # Page dates come from the wild: a bad one must not lose the article.
        "published_at": _date(ignore_malformed=True),
        "modified_at": _date(ignore_malformed=True),
        "fetched_at": _date(),
        "extracted_at": _date(),
        "indexed_at": _date(),
        "title": {
            "type": "text",
            "analyzer": ANALYZER_STEM,
            "fields": {
                "norm": {"type": "text", "analyzer": ANALYZER_NORM},
                "keyword": {"type": "keyword", "ignore_above": 512},
            },
        },
        # Offsets make highlighting of long bodies cheap. No keyword subfield:
        # a body exceeds Lucene's 32 KiB term limit.
        "body": {
            "type": "text",
            "analyzer": ANALYZER_STEM,
            "index_options": "offsets",
            "fields": {"norm": {"type": "text", "analyzer": ANALYZER_NORM}},
        },
        "description": {
            "type": "text",
            "analyzer": ANALYZER_STEM,
            "fields": {"norm": {"type": "text", "analyzer": ANALYZER_NORM}},
        },
        # Names of the alert rules the article matched when it was indexed.
        "matched_rules": _keyword(),
        "tags": _keyword(),
        "authors": {
            "type": "text",
            "analyzer": ANALYZER_NORM,
            "fields": {"keyword": {"type": "keyword", "ignore_above": 256}},
        },
    }


def article_mappings() -> dict[str, Any]:
    # dynamic false: unknown fields stay in _source but never grow the mapping.
    return {"dynamic": False, "properties": article_properties()}


def rules_properties() -> dict[str, Any]:
    """Field mappings of the rules index: the article fields (so that stored
    queries are parsed against the very analysis articles get) plus the
    percolator field and the rule's own fields."""
    return {
        **article_properties(),
        "query": {"type": "percolator"},
        "rule": {
            "properties": {
                "name": _keyword(),
                "severity": _keyword(),
                "cooldown_s": {"type": "float"},
                "digest": {"type": "boolean"},
                "hash": _keyword(),
                "updated_at": _date(),
                "channels": {"type": "object", "enabled": False},
            }
        },
    }


def rules_index_body(available_filters: Collection[str]) -> dict[str, Any]:
    """Body of the rules index creation request."""
    return {
        "settings": {
            "index": {
                "number_of_shards": 1,
                "auto_expand_replicas": "0-1",
                "analysis": analysis_settings(available_filters),
            }
        },
        "mappings": {"dynamic": False, "properties": rules_properties()},
    }


def template_name(alias: str) -> str:
    return f"{alias}-template"


def index_pattern(alias: str, generation: int = TEMPLATE_VERSION) -> str:
    # One generation per pattern: the template shapes only its own
    # generation's indices, older ones keep the analysis they were made with.
    return f"{alias}-v{generation}-*"


def index_name(alias: str, generation: int, number: int) -> str:
    # The six-digit counter is what rollover increments.
    return f"{alias}-v{generation}-{number:06d}"


def first_index(alias: str, generation: int = TEMPLATE_VERSION) -> str:
    return index_name(alias, generation, 1)


_NAME = re.compile(r"(?:-v(?P<gen>\d+))?-(?P<num>\d{6})$")


def parse_index(alias: str, index: str) -> tuple[int, int] | None:
    """(generation, number) of one of ``alias``'s rollover indices, None for
    any other name. ``<alias>-000001`` (before generations were numbered in
    names) is generation 1."""
    if not index.startswith(alias):
        return None
    found = _NAME.fullmatch(index[len(alias):])
    if found is None:
        return None
    return int(found["gen"] or 1), int(found["num"])


def index_template(
    alias: str, available_filters: Collection[str], lifecycle_settings: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Body of ``PUT _index_template/<alias>-template``; ``lifecycle_settings``
    attach the engine's lifecycle policy (only where the engine has one: an
    engine without ILM or ISM refuses their settings)."""
    return {
        "index_patterns": [index_pattern(alias)],
        "priority": TEMPLATE_PRIORITY,
        "template": {
            "settings": {
                "index": {
                    "number_of_shards": 1,
                    # 0 replicas on one node (green), 1 as soon as there are two.
                    "auto_expand_replicas": "0-1",
                    "analysis": analysis_settings(available_filters),
                },
                **dict(lifecycle_settings or {}),
            },
            "mappings": article_mappings(),
        },
        "_meta": {"managed_by": "rasd", "template_version": TEMPLATE_VERSION},
    }

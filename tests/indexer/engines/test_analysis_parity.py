"""The local Elasticsearch's rasd-analysis plugin runs the same Lucene code as
OpenSearch's built-in analysis-common filters: for every component the plugin
provides, ``_analyze`` on Elasticsearch returns exactly what OpenSearch
returns (tokens, offsets, positions, types) for Arabic, Persian and Latin text."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from indexer import mapping
from indexer.engines.base import EngineError, SearchEngine
from indexer.engines.detect import open_engine
from tests.indexer.conftest import _drop_alias

TEXTS = (
    "أعرب سفير إيران لدى جمهورية أذربيجان عن استعداد إيران لإعادة بناء مدينة كاملة",
    "الْعَرَبِيَّةُ وَالإِسْلامِيَّة آسيا الوسطى إلى مستوى قـــــال",
    "والمكتبات بالعلاقات كالطالب فالقلم للرجل وكتاب الأولى ماذا",
    "جمهوری اسلامی ایران، کتاب\u200cهای فارسی، خانهٔ ۀ ە ی ک ؤ ئ",
    "٠١٢٣٤٥٦٧٨٩ ۰۱۲۳۴۵۶۷۸۹ ٢٠٪ 1000 १२३",
    "Qarabağ L’Azerbaïdjan d'Iran l'Œuvre Iran's JONES' Ærø straße",
)

# (component kind, definition): every name the plugin provides, bare and
# with the settings the index uses
TOKEN_FILTERS: list[str | dict[str, Any]] = [
    "arabic_normalization",
    "arabic_stem",
    "persian_normalization",
    "decimal_digit",
    "asciifolding",
    {"type": "asciifolding", "preserve_original": True},
    mapping.CUSTOM_FILTERS[mapping.ELISION_FILTER],
    {"type": "elision", "articles": ["L", "d"], "articles_case": True},
    mapping.CUSTOM_FILTERS[mapping.POSSESSIVE_FILTER],
]
CHAR_FILTERS: list[dict[str, Any]] = [
    mapping.CUSTOM_CHAR_FILTERS[mapping.ZWNJ_CHAR_FILTER],
    {"type": "mapping", "mappings": ["ک => ك", "\\u06CC=>\\u064A", "ـ=>", "\\\\ => \\t"]},
]


def _tokens(engine: SearchEngine, body: dict[str, Any], index: str | None = None) -> list[dict[str, Any]]:
    tokens = engine.analyze_raw(body, index)["tokens"]
    return [{k: t[k] for k in ("token", "start_offset", "end_offset", "type", "position")} for t in tokens]


@pytest.fixture(scope="module")
def engines(opensearch_url: str, elasticsearch_url: str) -> Iterator[tuple[SearchEngine, SearchEngine]]:
    os_engine, es_engine = open_engine(opensearch_url), open_engine(elasticsearch_url)
    yield os_engine, es_engine
    os_engine.close()
    es_engine.close()


def _label(definition: str | dict[str, Any]) -> str:
    return definition if isinstance(definition, str) else "-".join(f"{k}={v}" for k, v in definition.items())


@pytest.mark.parametrize("definition", TOKEN_FILTERS, ids=_label)
def test_each_plugin_token_filter_gives_what_opensearch_gives(engines, definition):
    os_engine, es_engine = engines
    for text in TEXTS:
        body = {"tokenizer": "standard", "filter": [definition], "text": text}
        expected = _tokens(os_engine, body)
        assert _tokens(es_engine, body) == expected, text
    # and the filter does something on this text (the comparison is not of two no-ops)
    plain = [_tokens(os_engine, {"tokenizer": "standard", "text": t}) for t in TEXTS]
    assert [_tokens(os_engine, {"tokenizer": "standard", "filter": [definition], "text": t}) for t in TEXTS] != plain


@pytest.mark.parametrize("definition", CHAR_FILTERS, ids=lambda d: "mapping")
def test_the_plugin_mapping_char_filter_gives_what_opensearch_gives(engines, definition):
    os_engine, es_engine = engines
    for text in TEXTS + ("قره\u200cباغ کتاب\u200cها \\ ی",):
        body = {"tokenizer": "standard", "char_filter": [definition], "text": text}
        assert _tokens(es_engine, body) == _tokens(os_engine, body), text


def test_the_plugin_arabic_analyzer_gives_what_opensearch_gives(engines):
    os_engine, es_engine = engines
    for text in TEXTS:
        body = {"analyzer": "arabic", "text": text}
        assert _tokens(es_engine, body) == _tokens(os_engine, body), text


@pytest.fixture
def alias() -> str:
    return f"p{uuid.uuid4().hex[:8]}-articles"


def test_the_index_analyzers_are_the_same_on_both_engines(engines, alias, opensearch_url, elasticsearch_url):
    os_engine, es_engine = engines
    try:
        indices = [engine.ensure_index(alias) for engine in engines]
        for analyzer in (mapping.ANALYZER_STEM, mapping.ANALYZER_NORM):
            for text in TEXTS:
                body = {"analyzer": analyzer, "text": text}
                assert _tokens(es_engine, body, indices[1]) == _tokens(os_engine, body, indices[0]), (analyzer, text)
    finally:
        _drop_alias(opensearch_url, alias)
        _drop_alias(elasticsearch_url, alias)


def test_a_mapping_char_filter_without_rules_is_refused_on_both_engines(engines):
    for engine in engines:
        with pytest.raises(EngineError, match="mapping"):
            engine.analyze("x", tokenizer="standard", char_filters=[{"type": "mapping"}])

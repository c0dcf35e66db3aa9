"""Pure checks of the index template; the engines' acceptance of it is
checked against real servers in tests/indexer/engines/."""
from indexer import mapping


def test_full_analysis_keeps_stop_before_normalization_and_stem_only_in_stem_chain():
    analysis = mapping.analysis_settings(mapping.CANDIDATE_FILTERS)
    stem = analysis["analyzer"][mapping.ANALYZER_STEM]["filter"]
    norm = analysis["analyzer"][mapping.ANALYZER_NORM]["filter"]
    assert stem.index(mapping.STOP_FILTER) < stem.index("arabic_normalization") < stem.index("arabic_stem")
    assert "arabic_stem" not in norm and mapping.STOP_FILTER not in norm
    assert "asciifolding" in norm
    assert analysis["filter"][mapping.STOP_FILTER] == {"type": "stop", "stopwords": "_arabic_"}
    # elision and possessives work on lowercased tokens, in both chains
    for chain in (stem, norm):
        assert chain.index("lowercase") < chain.index(mapping.ELISION_FILTER) < chain.index("asciifolding")
        assert chain.index("lowercase") < chain.index(mapping.POSSESSIVE_FILTER)
    assert analysis["filter"][mapping.ELISION_FILTER]["articles"][:2] == ["l", "m"]
    assert analysis["filter"][mapping.POSSESSIVE_FILTER] == {"type": "stemmer", "language": "possessive_english"}
    with_chars = mapping.analysis_settings(mapping.CANDIDATE_FILTERS + mapping.CANDIDATE_CHAR_FILTERS)
    assert with_chars["analyzer"][mapping.ANALYZER_NORM]["char_filter"] == [mapping.ZWNJ_CHAR_FILTER]
    assert with_chars["char_filter"] == {mapping.ZWNJ_CHAR_FILTER: {"type": "mapping", "mappings": ["\\u200C=>\\u0020"]}}


def test_fallback_analysis_keeps_analyzer_names_and_uses_only_available_filters():
    analysis = mapping.analysis_settings({"lowercase"})
    assert set(analysis["analyzer"]) == {mapping.ANALYZER_STEM, mapping.ANALYZER_NORM}
    for analyzer in analysis["analyzer"].values():
        assert analyzer["tokenizer"] == "standard"
        assert analyzer["filter"] == ["lowercase"]
    assert "filter" not in analysis  # no definition of an unused custom filter


def test_template_covers_the_current_generations_rollover_series_and_maps_fields_as_designed():
    body = mapping.index_template("news", mapping.CANDIDATE_FILTERS)
    assert body["index_patterns"] == [f"news-v{mapping.TEMPLATE_VERSION}-*"]
    assert body["_meta"]["template_version"] == mapping.TEMPLATE_VERSION == 2
    assert mapping.first_index("news") == "news-v2-000001"
    mappings = body["template"]["mappings"]
    assert mappings["dynamic"] is False
    props = mappings["properties"]
    for name in ("id", "url", "fetched_url", "source", "domain", "language", "classification", "cluster_id", "content_hash"):
        assert props[name] == {"type": "keyword"}
    assert props["published_at"] == {"type": "date", "ignore_malformed": True}
    assert {props[d]["type"] for d in ("fetched_at", "extracted_at", "indexed_at")} == {"date"}
    assert props["title"]["analyzer"] == mapping.ANALYZER_STEM
    assert props["title"]["fields"]["norm"]["analyzer"] == mapping.ANALYZER_NORM
    assert props["title"]["fields"]["keyword"] == {"type": "keyword", "ignore_above": 512}
    assert props["body"]["index_options"] == "offsets"
    assert set(props["body"]["fields"]) == {"norm"}


# --- Arabic analysis on the real engines: OpenSearch's analysis-common module,
# the local Elasticsearch's rasd-analysis plugin (the same Lucene filters) ---

import pytest  # noqa: E402

from indexer.documents import to_document  # noqa: E402
from tests.indexer.support import T0, make_article  # noqa: E402


@pytest.mark.services
def test_norm_analyzer_normalizes_without_stemming_or_stop_words(engine, alias):
    engine.ensure_index(alias)

    def norm(text):
        return engine.analyze(text, analyzer=mapping.ANALYZER_NORM, index=alias)

    assert norm("أذربيجان") == ["اذربيجان"]
    assert norm("في الأخبار") == ["في", "الاخبار"]
    assert norm("Qarabağ") == ["qarabag"]
    assert norm("٢٠٢٤") == ["2024"]
    assert norm("کی") == ["كي"]  # Persian keheh/yeh
    assert norm("قره\u200cباغ") == ["قره", "باغ"]  # ZWNJ compound = spaced form
    assert norm("L’Azerbaïdjan d'Iran") == ["azerbaidjan", "iran"]  # French elision
    assert norm("Iran's") == ["iran"]  # English possessive


@pytest.mark.services
def test_stem_analyzer_drops_arabic_stop_words_and_light_stems(engine, alias):
    engine.ensure_index(alias)

    def stem(text):
        return engine.analyze(text, analyzer=mapping.ANALYZER_STEM, index=alias)

    assert stem("في الأخبار") == ["اخبار"]
    # the stop list carries hamza forms: removed although normalization follows
    assert stem("إلى") == []
    assert stem("أذربيجان") == stem("اذربيجان") == ["اذربيج"]
    assert stem("Qarabağ") == ["qarabag"]


@pytest.mark.services
def test_arabic_names_are_found_with_and_without_hamza_and_absent_words_find_nothing(engine, alias):
    engine.ensure_index(alias)
    doc = to_document(
        make_article(
            1,
            title="أذربيجان وأرمينيا تستأنفان محادثات كاراباخ",
            body="قالت وزارة الخارجية في أذربيجان إن جولة جديدة من المحادثات حول كاراباخ ستعقد الشهر المقبل. Qarabağ",
            language="ar",
        ),
        T0,
    )
    assert engine.bulk_index(alias, [doc]).rejected == []
    engine.refresh(alias)
    for query in ("اذربيجان", "أذربيجان", "كاراباخ", "qarabag"):
        assert [h["_id"] for h in engine.search(alias, query)] == [doc["id"]], query
    assert engine.search(alias, "البرازيل") == []


def test_index_names_parse_back_to_generation_and_number_and_legacy_names_are_generation_1():
    assert mapping.parse_index("news", mapping.index_name("news", 3, 12)) == (3, 12)
    assert mapping.parse_index("news", "news-000004") == (1, 4)
    assert mapping.parse_index("news", "news-v2-000001") == (2, 1)
    for other in ("news", "news-v2", "newsroom-v2-000001", "other-000001", "news-v2-1"):
        assert mapping.parse_index("news", other) is None


def test_template_carries_lifecycle_settings_only_when_given():
    plain = mapping.index_template("news", ())["template"]["settings"]
    assert set(plain) == {"index"}
    managed = mapping.index_template("news", (), {"index.lifecycle.name": "p"})["template"]["settings"]
    assert managed["index.lifecycle.name"] == "p"

"""The dashboards' saved objects as files: Kibana's NDJSON export format,
references that resolve, attributes Kibana 9 accepts, fields that exist in
the code's mappings, and committed files that match the generator.

No Kibana or OpenSearch Dashboards can run here; what the engines make of
the objects' fields and queries is tested in test_dashboards_engines.py."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest

from rasd import dashboards
from rasd.dashboards import (FLAVORS, KIBANA, OPENSEARCH, OUTPUT_FILES, DashboardSpecError, Indices, flatten_mapping,
                             ndjson, saved_objects, usage_problem)
from tests.rasd.kibana_support import INDEX_REF, SavedObjects, read_ndjson

# Attribute keys Kibana 9 validates on create ({unknowns: forbid} schemas of
# the dashboard, saved search and Lens types): anything else is refused.
KIBANA_ALLOWED_ATTRIBUTES = {
    "dashboard": {"title", "description", "kibanaSavedObjectMeta", "timeRestore", "timeFrom", "timeTo",
                  "refreshInterval", "controlGroupInput", "panelsJSON", "optionsJSON", "hits", "version"},
    "search": {"title", "description", "columns", "sort", "grid", "rowHeight", "rowsPerPage", "hideChart",
               "breakdownField", "kibanaSavedObjectMeta", "isTextBasedQuery", "usesAdHocDataView", "timeRestore",
               "timeRange", "refreshInterval", "viewMode", "hideAggregatedPreview", "hits", "version"},
    "lens": {"title", "description", "visualizationType", "state"},
    "index-pattern": {"title", "name", "timeFieldName", "fields", "fieldFormatMap", "fieldAttrs", "runtimeFieldMap",
                      "sourceFilters", "typeMeta", "type", "allowNoIndex", "intervalName"},
}
OSD_TYPES = {"index-pattern", "search", "visualization", "dashboard"}
# attributes holding JSON as a string
JSON_STRING_ATTRIBUTES = {"visState", "uiStateJSON", "panelsJSON", "optionsJSON", "fields", "fieldFormatMap",
                          "fieldAttrs", "runtimeFieldMap", "sourceFilters", "typeMeta"}

ISSUE_PANELS = {"Articles over time by source", "Articles over time by language", "Top sources",
                "Rasd: latest articles", "Extraction dead letters over time", "Alerts over time by rule"}


def objects(flavor: str) -> SavedObjects:
    return SavedObjects(read_ndjson(OUTPUT_FILES[flavor]), flavor)


@pytest.mark.parametrize("flavor", FLAVORS)
def test_the_committed_files_are_what_the_generator_writes(flavor):
    assert OUTPUT_FILES[flavor].read_text(encoding="utf-8") == ndjson(flavor), (
        f"{OUTPUT_FILES[flavor]} is stale: run `python -m rasd.dashboards` and commit the result")


@pytest.mark.parametrize("flavor", FLAVORS)
def test_every_line_is_one_saved_object_in_export_format(flavor):
    found = read_ndjson(OUTPUT_FILES[flavor])
    ids = [(o["type"], o["id"]) for o in found]
    assert len(ids) == len(set(ids)), "an object twice"
    for obj in found:
        assert {"id", "type", "attributes", "references"} <= set(obj), obj.get("id")
        assert isinstance(obj["id"], str) and obj["id"] and isinstance(obj["attributes"], dict)
        for ref in obj["references"]:
            assert set(ref) == {"name", "type", "id"}, ref
        if flavor == KIBANA:
            # migrations run from the declared versions; without them Kibana
            # would treat the objects as pre-migration and rewrite them
            assert obj["coreMigrationVersion"] == "8.8.0" and obj["typeMigrationVersion"]
        else:
            assert obj["type"] in OSD_TYPES
            assert set(obj["migrationVersion"]) == {obj["type"]}
        attrs = obj["attributes"]
        assert attrs["title"]
        for key in JSON_STRING_ATTRIBUTES & set(attrs):
            assert isinstance(attrs[key], str), f"{obj['id']}.{key} must be a JSON string"
            json.loads(attrs[key])
        if "kibanaSavedObjectMeta" in attrs:
            source = json.loads(attrs["kibanaSavedObjectMeta"]["searchSourceJSON"])
            assert set(source["query"]) == {"query", "language"} and source["filter"] == []


@pytest.mark.parametrize("flavor", FLAVORS)
def test_every_reference_resolves_to_an_object_of_the_file(flavor):
    saved = objects(flavor)
    for obj in saved.objects:
        for ref in obj["references"]:
            assert (ref["type"], ref["id"]) in saved.by_key, f"{obj['id']}: dangling reference {ref}"
        attrs = obj["attributes"]
        if "kibanaSavedObjectMeta" in attrs:
            source = json.loads(attrs["kibanaSavedObjectMeta"]["searchSourceJSON"])
            if "indexRefName" in source:
                assert source["indexRefName"] == INDEX_REF
                saved.view_of(obj, INDEX_REF)
        if obj["type"] == "lens":
            for layer_id in attrs["state"]["datasourceStates"]["formBased"]["layers"]:
                saved.view_of(obj, f"indexpattern-datasource-layer-{layer_id}")
    panels = saved.panels("rasd-overview")
    assert {p["attributes"]["title"] for p in panels} == ISSUE_PANELS
    # every object is used: the data views by the charts and searches, the
    # charts by the dashboard; saved searches stand on their own in Discover
    used = {(r["type"], r["id"]) for o in saved.objects for r in o["references"]}
    for obj in saved.objects:
        if obj["type"] not in ("dashboard", "search"):
            assert (obj["type"], obj["id"]) in used, f"{obj['id']} is never used"


def test_kibana_objects_keep_to_the_attributes_kibana_9_accepts():
    saved = objects(KIBANA)
    assert {o["type"] for o in saved.objects} == {"index-pattern", "search", "lens", "dashboard"}
    for obj in saved.objects:
        extra = set(obj["attributes"]) - KIBANA_ALLOWED_ATTRIBUTES[obj["type"]]
        assert not extra, f"{obj['type']} {obj['id']}: Kibana refuses attributes {extra}"


def test_kibana_lens_layers_are_consistent():
    for obj in objects(KIBANA).of_type("lens"):
        state = obj["attributes"]["state"]
        layers = state["datasourceStates"]["formBased"]["layers"]
        vis = state["visualization"]
        assert obj["attributes"]["visualizationType"] == "lnsXY"
        assert [layer["layerId"] for layer in vis["layers"]] == list(layers)
        for vis_layer in vis["layers"]:
            columns = layers[vis_layer["layerId"]]["columns"]
            assert list(columns) == layers[vis_layer["layerId"]]["columnOrder"]
            accessors = [vis_layer["xAccessor"], *vis_layer["accessors"], vis_layer.get("splitAccessor")]
            assert {a for a in accessors if a} == set(columns), obj["id"]
            assert columns[vis_layer["xAccessor"]]["isBucketed"]
            assert all(not columns[a]["isBucketed"] for a in vis_layer["accessors"])
            for column in columns.values():
                order = column.get("params", {}).get("orderBy")
                if order:
                    assert order["columnId"] in columns


def test_opensearch_visualizations_are_consistent():
    for obj in objects(OPENSEARCH).of_type("visualization"):
        vis = json.loads(obj["attributes"]["visState"])
        assert vis["title"] == obj["attributes"]["title"]
        assert vis["type"] in ("histogram", "table")
        ids = [agg["id"] for agg in vis["aggs"]]
        assert len(ids) == len(set(ids))
        metrics = {agg["id"] for agg in vis["aggs"] if agg["schema"] == "metric"}
        for agg in vis["aggs"]:
            if agg["type"] == "terms":
                assert agg["params"]["orderBy"] in metrics
        if vis["type"] == "histogram":
            assert {s["data"]["id"] for s in vis["params"]["seriesParams"]} <= metrics


def test_both_products_get_the_same_dashboard():
    layouts = {}
    for flavor in FLAVORS:
        saved = objects(flavor)
        dashboard = saved.by_key[("dashboard", "rasd-overview")]
        grid = [p["gridData"] for p in json.loads(dashboard["attributes"]["panelsJSON"])]
        titles = [p["attributes"]["title"] for p in saved.panels("rasd-overview")]
        layouts[flavor] = list(zip(titles, [(g["x"], g["y"], g["w"], g["h"]) for g in grid]))
        assert dashboard["attributes"]["title"] == "Rasd overview" and dashboard["attributes"]["timeRestore"]
        assert {s["attributes"]["title"] for s in saved.of_type("search")} >= {
            "Rasd: latest articles", "Rasd: Arabic full text «البنك المركزي»"}
    assert layouts[KIBANA] == layouts[OPENSEARCH]
    # panels within the 48-column grid and never overlapping
    cells = set()
    for _, (x, y, w, h) in layouts[KIBANA]:
        assert 0 <= x and x + w <= 48
        mine = {(cx, cy) for cx in range(x, x + w) for cy in range(y, y + h)}
        assert not cells & mine
        cells |= mine


@pytest.mark.parametrize("flavor", FLAVORS)
def test_every_field_the_files_use_is_in_the_code_mapping_with_a_usable_type(flavor):
    """The pure half of the field check (the engine half reads field_caps)."""
    props = dashboards._index_properties()
    indices = Indices.defaults()
    flat = {indices.of(key): flatten_mapping(p) for key, p in props.items()}
    uses = list(objects(flavor).field_uses())
    assert {u.use for u in uses} >= {"time", "terms", "text", "filter", "column", "sort", "link"}
    problems = []
    for use in uses:
        kind = {"link": "column"}.get(use.use, use.use)
        if (why := usage_problem(kind, flat[use.index].get(use.field))) is not None:  # type: ignore[arg-type]
            problems.append(f"{use.where}: {use.field} ({use.use}): {why}")
    assert not problems


def test_the_arabic_saved_searches_query_the_article_text():
    saved = objects(KIBANA)
    arabic = [o for o in saved.of_type("search") if "Arabic" in o["attributes"]["title"]]
    assert len(arabic) >= 2
    for obj in arabic:
        query = json.loads(obj["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])["query"]
        assert query["language"] == "lucene"
        assert any("\u0600" <= ch <= "\u06ff" for ch in query["query"]), "an Arabic query"
        assert {u.field for u in saved.field_uses() if u.where == f"search {obj['id']}" and u.use == "text"} == {
            "title", "body"}


def test_a_field_the_mapping_lacks_or_cannot_aggregate_fails_the_build(monkeypatch):
    chart = dashboards.CHARTS[0]
    monkeypatch.setattr(dashboards, "CHARTS", (replace(chart, split="no_such_field"), *dashboards.CHARTS[1:]))
    with pytest.raises(DashboardSpecError, match="no_such_field.*not in the mapping"):
        saved_objects(KIBANA)
    # body is text: no terms aggregation on it
    monkeypatch.setattr(dashboards, "CHARTS", (replace(chart, split="body"), *dashboards.CHARTS[1:]))
    with pytest.raises(DashboardSpecError, match="body.*aggregatable"):
        saved_objects(OPENSEARCH)


def test_usage_rules_follow_the_field_types():
    assert usage_problem("time", {"type": "date"}) is None
    assert "date" in usage_problem("time", {"type": "keyword"})
    assert usage_problem("terms", {"type": "keyword"}) is None
    assert usage_problem("terms", {"type": "keyword", "doc_values": False}) is not None
    assert usage_problem("text", {"type": "text"}) is None
    assert usage_problem("text", {"type": "keyword"}) is not None
    assert usage_problem("filter", {"type": "keyword", "index": False}) is not None
    assert usage_problem("column", None) == "not in the mapping"


def test_objects_render_for_the_configured_index_names():
    custom = Indices(articles="news-articles", alerts="news-alerts", extraction_log="news-extraction")
    for flavor in FLAVORS:
        titles = {o["attributes"]["title"] for o in saved_objects(flavor, custom) if o["type"] == "index-pattern"}
        assert titles == {"news-articles", "news-alerts", "news-extraction"}
    assert Indices.defaults() == Indices("rasd-articles", "rasd-alerts", "rasd-extraction-log")
    with pytest.raises(ValueError, match="unknown dashboards flavor"):
        saved_objects("grafana")

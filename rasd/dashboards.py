"""The "Rasd overview" dashboard, its visualizations, saved searches and data
views, as saved objects for Kibana 9 and for OpenSearch Dashboards 2.

One description (``DATA_VIEWS``, ``CHARTS``, ``SEARCHES``, ``OVERVIEW``)
renders into both products' NDJSON export format. Every field it names is
checked against the mappings the code creates (``indexer.mapping``, the
alerts index, the extraction log) before anything is written, so a renamed
field fails here, not on a user's screen.

Kibana gets Lens visualizations (the aggregation-based editor is deprecated
there); OpenSearch Dashboards, which has no Lens, gets classic
visualizations. Queries are Lucene query strings, the one query language
both products run the same way (``query_string``).

``python -m rasd.dashboards`` writes ``deploy/kibana/rasd-dashboards.ndjson``
and ``deploy/opensearch-dashboards/rasd-dashboards.ndjson`` for the default
index names; ``rasd kibana import`` renders the objects for the index names
of the running configuration instead.
"""
from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path
from typing import Any, Literal

KIBANA = "kibana"
OPENSEARCH = "opensearch"
FLAVORS: tuple[str, ...] = (KIBANA, OPENSEARCH)
Flavor = Literal["kibana", "opensearch"]

REPO_ROOT = Path(__file__).resolve().parents[1]
OUTPUT_FILES: dict[str, Path] = {
    KIBANA: REPO_ROOT / "deploy" / "kibana" / "rasd-dashboards.ndjson",
    OPENSEARCH: REPO_ROOT / "deploy" / "opensearch-dashboards" / "rasd-dashboards.ndjson",
}

# Migration versions the objects are written in. Kibana migrates imported
# objects from the declared version up (and refuses nothing older than the
# previous major); OpenSearch Dashboards is a 7.10 fork and keys its
# migrations the same way.
KIBANA_CORE_MIGRATION = "8.8.0"
KIBANA_TYPE_MIGRATION = {"index-pattern": "8.0.0", "search": "8.0.0", "lens": "8.9.0", "dashboard": "8.9.0"}
OSD_MIGRATION = {"index-pattern": "7.6.0", "search": "7.9.3", "visualization": "7.10.0", "dashboard": "7.9.3"}
KIBANA_PANEL_VERSION = "8.9.0"
OSD_PANEL_VERSION = "7.10.2"

# Kibana's "auto" interval; both products pick the bucket size from the
# time range the user looks at.
AUTO_INTERVAL = "auto"
INDEX_REF = "kibanaSavedObjectMeta.searchSourceJSON.index"


class DashboardSpecError(ValueError):
    """The description names a field the index mapping lacks, or uses one
    with a type the visualization cannot use."""


# -- index names ----------------------------------------------------------


@dataclass(frozen=True)
class Indices:
    """What each data view points at: the articles alias (it covers every
    rollover index behind it), the alerts index, the extraction log index."""

    articles: str
    alerts: str
    extraction_log: str

    @classmethod
    def defaults(cls) -> "Indices":
        """The names ``Settings`` uses when nothing is configured (the
        committed NDJSON files)."""
        from ingest.settings import Settings

        fields = Settings.model_fields
        return cls(
            articles=fields["articles_alias"].default,
            alerts=fields["alerts_index"].default,
            extraction_log=fields["extraction_log_index"].default,
        )

    @classmethod
    def from_settings(cls, settings: Any) -> "Indices":
        return cls(settings.articles_alias, settings.alerts_index, settings.extraction_log_index)

    def of(self, view: str) -> str:
        return str(getattr(self, view))


# -- the mappings the code creates ----------------------------------------


def _index_properties() -> dict[str, dict[str, Any]]:
    from indexer.alerts.records import alerts_index_body
    from indexer.mapping import article_properties
    from ingest.extraction_log import INDEX_BODY

    return {
        "articles": article_properties(),
        "alerts": alerts_index_body()["mappings"]["properties"],
        "extraction_log": INDEX_BODY["mappings"]["properties"],
    }


def flatten_mapping(properties: Mapping[str, Any], prefix: str = "") -> dict[str, dict[str, Any]]:
    """Field path -> its mapping, with object properties and multi-fields
    (``title.keyword``) as dotted paths, the way the engines list fields."""
    flat: dict[str, dict[str, Any]] = {}
    for name, spec in properties.items():
        path = f"{prefix}{name}"
        if "properties" in spec:
            flat.update(flatten_mapping(spec["properties"], f"{path}."))
            continue
        flat[path] = dict(spec)
        for sub, sub_spec in (spec.get("fields") or {}).items():
            flat[f"{path}.{sub}"] = dict(sub_spec)
    return flat


NUMERIC = {"integer", "long", "short", "byte", "float", "double", "half_float", "scaled_float"}
AGGREGATABLE = {"keyword", "boolean", "date", "ip"} | NUMERIC

FieldUse = Literal["time", "terms", "text", "filter", "column", "sort"]


def usage_problem(use: FieldUse, spec: Mapping[str, Any] | None) -> str | None:
    """Why a field mapped as ``spec`` (None: missing) cannot serve ``use``."""
    if spec is None:
        return "not in the mapping"
    kind = spec.get("type", "object")
    indexed = spec.get("index", True) is not False
    doc_values = spec.get("doc_values", True) is not False
    if use == "time" and kind != "date":
        return f"a date histogram needs a date field, this one is {kind}"
    if use in ("terms", "sort") and not (kind in AGGREGATABLE and doc_values):
        return f"{'terms' if use == 'terms' else 'sorting'} needs an aggregatable field, this one is {kind}" + (
            "" if doc_values else " without doc values")
    if use == "text" and kind != "text":
        return f"a full-text query needs a text field, this one is {kind}"
    if use == "filter" and not indexed:
        return "a query on it needs an indexed field"
    return None


# -- queries --------------------------------------------------------------


def _lucene_phrase(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class Phrases:
    """Full text: any of ``phrases`` in any of ``fields`` (analyzed like the
    documents, so the Arabic normalization and stemming apply)."""

    fields: tuple[str, ...]
    phrases: tuple[str, ...]

    def lucene(self) -> str:
        return "(" + " OR ".join(f"{f}:{_lucene_phrase(p)}" for f in self.fields for p in self.phrases) + ")"

    def uses(self) -> Iterator[tuple[str, FieldUse]]:
        for name in self.fields:
            yield name, "text"


@dataclass(frozen=True)
class Exclude:
    """Documents whose keyword ``field`` is not ``value``."""

    field: str
    value: str

    def lucene(self) -> str:
        return f"NOT {self.field}:{_lucene_phrase(self.value)}"

    def uses(self) -> Iterator[tuple[str, FieldUse]]:
        yield self.field, "filter"


Clause = Phrases | Exclude


def lucene(where: tuple[Clause, ...]) -> str:
    return " AND ".join(clause.lucene() for clause in where)


# -- what the dashboards show ---------------------------------------------


@dataclass(frozen=True)
class DataView:
    key: str  # attribute of Indices
    id: str
    name: str
    time_field: str
    # keyword fields holding URLs: shown as links
    link_fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Item:
    """What a chart and a saved search have in common: an id, a title, the
    data view (key) it reads and an optional query."""

    id: str
    title: str
    description: str
    view: str
    where: tuple[Clause, ...] = dc_field(default=(), kw_only=True)

    def uses(self, views: Mapping[str, DataView]) -> Iterator[tuple[str, FieldUse]]:
        yield from self._own_uses(views)
        for clause in self.where:
            yield from clause.uses()

    def _own_uses(self, views: Mapping[str, DataView]) -> Iterator[tuple[str, FieldUse]]:
        raise NotImplementedError


@dataclass(frozen=True)
class TimeChart(_Item):
    """Documents per time bucket, stacked by the top values of ``split``."""

    split: str
    size: int = 10

    def _own_uses(self, views: Mapping[str, DataView]) -> Iterator[tuple[str, FieldUse]]:
        yield views[self.view].time_field, "time"
        yield self.split, "terms"


@dataclass(frozen=True)
class TopValues(_Item):
    """The ``size`` most frequent values of ``field`` and their counts."""

    field: str
    size: int = 15

    def _own_uses(self, views: Mapping[str, DataView]) -> Iterator[tuple[str, FieldUse]]:
        yield self.field, "terms"


@dataclass(frozen=True)
class Search(_Item):
    """A saved search (a Discover session in Kibana): a document table."""

    columns: tuple[str, ...]
    sort: tuple[tuple[str, str], ...]

    def _own_uses(self, views: Mapping[str, DataView]) -> Iterator[tuple[str, FieldUse]]:
        for name in self.columns:
            yield name, "column"
        for name, _ in self.sort:
            yield name, "sort"


Chart = TimeChart | TopValues
Item = TimeChart | TopValues | Search


@dataclass(frozen=True)
class Panel:
    item: str  # id of a chart or search
    x: int
    y: int
    w: int
    h: int


@dataclass(frozen=True)
class Dashboard:
    id: str
    title: str
    description: str
    panels: tuple[Panel, ...]
    time_from: str = "now-7d"
    time_to: str = "now"
    refresh_ms: int = 60_000


DATA_VIEWS: tuple[DataView, ...] = (
    DataView("articles", "rasd-articles", "Rasd articles", "fetched_at", link_fields=("url", "fetched_url")),
    DataView("alerts", "rasd-alerts", "Rasd alerts", "alerted_at", link_fields=("url",)),
    DataView("extraction_log", "rasd-extraction-log", "Rasd extraction log", "fetched_at"),
)

ARTICLE_TEXT = ("title", "body")

CHARTS: tuple[Chart, ...] = (
    TimeChart("rasd-articles-by-source", "Articles over time by source",
              "Articles indexed per time bucket (by fetch time), stacked by source.", "articles", "source"),
    TimeChart("rasd-articles-by-language", "Articles over time by language",
              "Articles indexed per time bucket (by fetch time), stacked by detected language.", "articles", "language"),
    TopValues("rasd-top-sources", "Top sources", "The sources with the most articles in the time range.",
              "articles", "source"),
    TimeChart("rasd-extraction-dead-letters", "Extraction dead letters over time",
              "Fetched pages the ingest stage did not turn into an article (not an article, empty, too large, "
              "failed), by reason, from the extraction log.",
              "extraction_log", "reason", where=(Exclude("classification", "article"),)),
    TimeChart("rasd-alerts-by-rule", "Alerts over time by rule",
              "Alerts raised per time bucket, stacked by rule (empty until a rule first matches).",
              "alerts", "rule"),
)

SEARCHES: tuple[Search, ...] = (
    Search("rasd-latest-articles", "Rasd: latest articles",
           "The newest articles: title, source, publication date and link.", "articles",
           columns=("title", "source", "published_at", "url"),
           sort=(("published_at", "desc"), ("fetched_at", "desc"))),
    Search("rasd-arabic-central-bank", "Rasd: Arabic full text «البنك المركزي»",
           "Articles that mention the central bank (البنك المركزي) in title or body; Arabic analysis applies, "
           "so the stemmed and normalized forms match too. Edit the query for your own topics.", "articles",
           columns=("title", "source", "language", "published_at", "url"),
           sort=(("published_at", "desc"),),
           where=(Phrases(ARTICLE_TEXT, ("البنك المركزي",)),)),
    Search("rasd-arabic-karabakh", "Rasd: Arabic full text «كاراباخ» / «قره باغ»",
           "Articles that name Karabakh in either Arabic spelling (كاراباخ or قره باغ) in title or body.",
           "articles",
           columns=("title", "source", "language", "published_at", "url"),
           sort=(("published_at", "desc"),),
           where=(Phrases(ARTICLE_TEXT, ("كاراباخ", "قره باغ")),)),
)

OVERVIEW = Dashboard(
    "rasd-overview",
    "Rasd overview",
    "What Rasd collected: articles by source and language, the newest articles, the pages extraction turned "
    "away, and the alerts the rules raised.",
    panels=(
        Panel("rasd-articles-by-source", 0, 0, 24, 15),
        Panel("rasd-articles-by-language", 24, 0, 24, 15),
        Panel("rasd-top-sources", 0, 15, 16, 18),
        Panel("rasd-latest-articles", 16, 15, 32, 18),
        Panel("rasd-extraction-dead-letters", 0, 33, 24, 15),
        Panel("rasd-alerts-by-rule", 24, 33, 24, 15),
    ),
)


def _views() -> dict[str, DataView]:
    return {view.key: view for view in DATA_VIEWS}


def _items() -> dict[str, Item]:
    return {item.id: item for item in (*CHARTS, *SEARCHES)}


def check_fields() -> None:
    """Every field the objects use exists in the mapping the code creates,
    with a type its use accepts. Raises DashboardSpecError listing all."""
    views = _views()
    mappings = {key: flatten_mapping(props) for key, props in _index_properties().items()}
    problems: list[str] = []
    for view in DATA_VIEWS:
        uses: list[tuple[str, FieldUse]] = [(view.time_field, "time"), *((f, "column") for f in view.link_fields)]
        for name, use in uses:
            if (why := usage_problem(use, mappings[view.key].get(name))) is not None:
                problems.append(f"data view {view.id}: {name} ({use}): {why}")
    for item in _items().values():
        for name, use in item.uses(views):
            if (why := usage_problem(use, mappings[item.view].get(name))) is not None:
                problems.append(f"{item.id}: {name} ({use}): {why}")
    for panel in OVERVIEW.panels:
        if panel.item not in _items():
            problems.append(f"{OVERVIEW.id}: panel of unknown item {panel.item}")
    if problems:
        raise DashboardSpecError("; ".join(problems))


# -- rendering helpers ----------------------------------------------------

_UUIDS = uuid.UUID("6f1d3c52-7a0e-4b61-9d0c-52a2d1f4e8b3")


def _uid(*parts: str) -> str:
    """A stable UUID for a Lens layer or column (the same on every run, so
    the generated files only change when the description does)."""
    return str(uuid.uuid5(_UUIDS, "/".join(parts)))


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _query(where: tuple[Clause, ...]) -> dict[str, str]:
    # An empty query stays in the product's default language, so a user
    # typing into the bar gets what they expect.
    return {"query": lucene(where), "language": "lucene"} if where else {"query": "", "language": "kuery"}


def _field_formats(view: DataView) -> str:
    return _json({name: {"id": "url", "params": {"type": "a"}} for name in view.link_fields})


def _ref(name: str, type_: str, id_: str) -> dict[str, str]:
    return {"name": name, "type": type_, "id": id_}


def _search_source(query: dict[str, str], *, with_index: bool) -> str:
    source: dict[str, Any] = {"query": query, "filter": []}
    if with_index:
        source["indexRefName"] = INDEX_REF
    return _json(source)


def _dashboard_attributes(dashboard: Dashboard, panels: list[dict[str, Any]],
                          options: dict[str, Any]) -> dict[str, Any]:
    """The attributes both products' dashboards share: panels, layout
    options, and the time range and refresh restored on opening."""
    return {
        "title": dashboard.title,
        "description": dashboard.description,
        "panelsJSON": _json(panels),
        "optionsJSON": _json(options),
        "timeRestore": True,
        "timeFrom": dashboard.time_from,
        "timeTo": dashboard.time_to,
        "refreshInterval": {"pause": False, "value": dashboard.refresh_ms},
        "kibanaSavedObjectMeta": {"searchSourceJSON": _search_source(_query(()), with_index=False)},
    }


# -- Kibana ---------------------------------------------------------------


def _kibana(type_: str, id_: str, attributes: dict[str, Any], references: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "id": id_,
        "type": type_,
        "attributes": attributes,
        "references": references,
        "managed": False,
        "coreMigrationVersion": KIBANA_CORE_MIGRATION,
        "typeMigrationVersion": KIBANA_TYPE_MIGRATION[type_],
    }


def _kibana_data_view(view: DataView, indices: Indices) -> dict[str, Any]:
    return _kibana("index-pattern", view.id, {
        "title": indices.of(view.key),
        "name": view.name,
        "timeFieldName": view.time_field,
        # fields come from the engine (field_caps) each time the view loads
        "fields": "[]",
        "fieldFormatMap": _field_formats(view),
        "fieldAttrs": "{}",
        "runtimeFieldMap": "{}",
        "sourceFilters": "[]",
        "typeMeta": "{}",
    }, [])


def _lens_count(label: str) -> dict[str, Any]:
    return {"label": label, "dataType": "number", "operationType": "count", "isBucketed": False, "scale": "ratio",
            "sourceField": "___records___", "params": {"emptyAsNull": True}, "customLabel": True}


def _lens_terms(name: str, size: int, order_by: str, *, other: bool) -> dict[str, Any]:
    return {"label": name, "dataType": "string", "operationType": "terms", "isBucketed": True, "scale": "ordinal",
            "sourceField": name, "customLabel": True,
            "params": {"size": size, "orderBy": {"type": "column", "columnId": order_by}, "orderDirection": "desc",
                       "otherBucket": other, "missingBucket": False, "parentFormat": {"id": "terms"}}}


def _lens_time(name: str) -> dict[str, Any]:
    return {"label": name, "dataType": "date", "operationType": "date_histogram", "isBucketed": True,
            "scale": "interval", "sourceField": name,
            "params": {"interval": AUTO_INTERVAL, "includeEmptyRows": True, "dropPartials": False}}


def _kibana_lens(chart: Chart, views: Mapping[str, DataView]) -> dict[str, Any]:
    layer = _uid(chart.id, "layer")
    count = _uid(chart.id, "count")
    if isinstance(chart, TimeChart):
        split, time = _uid(chart.id, "split"), _uid(chart.id, "time")
        # the split first: its top values are taken over the whole range,
        # not per bucket, so the legend stays the same across the chart
        columns = {split: _lens_terms(chart.split, chart.size, count, other=True),
                   time: _lens_time(views[chart.view].time_field),
                   count: _lens_count("Count")}
        visualization: dict[str, Any] = {
            "legend": {"isVisible": True, "position": "right"},
            "valueLabels": "hide",
            "preferredSeriesType": "bar_stacked",
            "layers": [{"layerId": layer, "layerType": "data", "seriesType": "bar_stacked", "xAccessor": time,
                        "splitAccessor": split, "accessors": [count]}],
        }
    else:
        values = _uid(chart.id, "values")
        columns = {values: _lens_terms(chart.field, chart.size, count, other=False), count: _lens_count("Articles")}
        visualization = {
            "legend": {"isVisible": False, "position": "right"},
            "valueLabels": "show",
            "preferredSeriesType": "bar_horizontal",
            "layers": [{"layerId": layer, "layerType": "data", "seriesType": "bar_horizontal", "xAccessor": values,
                        "accessors": [count]}],
        }
    all_axes = {"x": True, "yLeft": True, "yRight": True}
    visualization.update({"fittingFunction": "None", "axisTitlesVisibilitySettings": all_axes,
                          "tickLabelsVisibilitySettings": all_axes, "gridlinesVisibilitySettings": all_axes})
    state = {
        "datasourceStates": {"formBased": {"layers": {layer: {
            "columnOrder": list(columns), "columns": columns, "incompleteColumns": {}}}}},
        "visualization": visualization,
        "query": _query(chart.where),
        "filters": [],
        "internalReferences": [],
        "adHocDataViews": {},
    }
    attributes = {"title": chart.title, "description": chart.description, "visualizationType": "lnsXY",
                  "state": state}
    view_id = views[chart.view].id
    refs = [_ref("indexpattern-datasource-current-indexpattern", "index-pattern", view_id),
            _ref(f"indexpattern-datasource-layer-{layer}", "index-pattern", view_id)]
    return _kibana("lens", chart.id, attributes, refs)


def _search_attributes(search: Search) -> dict[str, Any]:
    return {
        "title": search.title,
        "description": search.description,
        "columns": list(search.columns),
        "sort": [list(pair) for pair in search.sort],
        "kibanaSavedObjectMeta": {"searchSourceJSON": _search_source(_query(search.where), with_index=True)},
    }


def _kibana_search(search: Search, views: Mapping[str, DataView]) -> dict[str, Any]:
    attributes = {**_search_attributes(search), "grid": {}, "hideChart": False, "isTextBasedQuery": False}
    return _kibana("search", search.id, attributes, [_ref(INDEX_REF, "index-pattern", views[search.view].id)])


def _kibana_dashboard(dashboard: Dashboard, items: Mapping[str, Item]) -> dict[str, Any]:
    panels, refs = [], []
    for n, panel in enumerate(dashboard.panels, start=1):
        index = str(n)
        item = items[panel.item]
        kind = "search" if isinstance(item, Search) else "lens"
        panels.append({"type": kind, "version": KIBANA_PANEL_VERSION, "panelIndex": index,
                       "gridData": {"x": panel.x, "y": panel.y, "w": panel.w, "h": panel.h, "i": index},
                       "embeddableConfig": {"enhancements": {}}, "panelRefName": f"panel_{index}"})
        refs.append(_ref(f"{index}:panel_{index}", kind, item.id))
    options = {"useMargins": True, "syncColors": False, "syncCursor": True, "syncTooltips": False,
               "hidePanelTitles": False}
    return _kibana("dashboard", dashboard.id, _dashboard_attributes(dashboard, panels, options), refs)


# -- OpenSearch Dashboards ------------------------------------------------


def _osd(type_: str, id_: str, attributes: dict[str, Any], references: list[dict[str, str]]) -> dict[str, Any]:
    return {"id": id_, "type": type_, "attributes": attributes, "references": references,
            "migrationVersion": {type_: OSD_MIGRATION[type_]}}


def _osd_index_pattern(view: DataView, indices: Indices) -> dict[str, Any]:
    # no field list: Dashboards reads the fields from the engine when the
    # pattern is first used, and keeps them
    return _osd("index-pattern", view.id, {"title": indices.of(view.key), "timeFieldName": view.time_field,
                                           "fieldFormatMap": _field_formats(view)}, [])


def _osd_count() -> dict[str, Any]:
    return {"id": "1", "enabled": True, "type": "count", "schema": "metric", "params": {}}


def _osd_terms(agg_id: str, schema: str, name: str, size: int, *, other: bool) -> dict[str, Any]:
    return {"id": agg_id, "enabled": True, "type": "terms", "schema": schema,
            "params": {"field": name, "orderBy": "1", "order": "desc", "size": size, "otherBucket": other,
                       "otherBucketLabel": "Other", "missingBucket": False, "missingBucketLabel": "Missing"}}


def _osd_histogram_params(series_label: str) -> dict[str, Any]:
    return {
        "type": "histogram",
        "addTooltip": True,
        "addLegend": True,
        "legendPosition": "right",
        "times": [],
        "addTimeMarker": False,
        "labels": {"show": False},
        "grid": {"categoryLines": False},
        "categoryAxes": [{"id": "CategoryAxis-1", "type": "category", "position": "bottom", "show": True,
                          "style": {}, "scale": {"type": "linear"},
                          "labels": {"show": True, "filter": True, "truncate": 100}, "title": {}}],
        "valueAxes": [{"id": "ValueAxis-1", "name": "LeftAxis-1", "type": "value", "position": "left", "show": True,
                       "style": {}, "scale": {"type": "linear", "mode": "normal"},
                       "labels": {"show": True, "rotate": 0, "filter": False, "truncate": 100},
                       "title": {"text": series_label}}],
        "seriesParams": [{"show": True, "type": "histogram", "mode": "stacked",
                          "data": {"label": series_label, "id": "1"}, "valueAxis": "ValueAxis-1",
                          "drawLinesBetweenPoints": True, "lineWidth": 2, "showCircles": True}],
        "thresholdLine": {"show": False, "value": 10, "width": 1, "style": "full", "color": "#E7664C"},
    }


def _osd_visualization(chart: Chart, views: Mapping[str, DataView]) -> dict[str, Any]:
    if isinstance(chart, TimeChart):
        # the split series before the x-axis: top values over the whole range
        aggs = [
            _osd_count(),
            _osd_terms("2", "group", chart.split, chart.size, other=True),
            {"id": "3", "enabled": True, "type": "date_histogram", "schema": "segment",
             "params": {"field": views[chart.view].time_field, "interval": AUTO_INTERVAL,
                        "useNormalizedOpenSearchInterval": True, "scaleMetricValues": False, "drop_partials": False,
                        "min_doc_count": 1, "extended_bounds": {}}},
        ]
        vis = {"title": chart.title, "type": "histogram", "aggs": aggs, "params": _osd_histogram_params("Count")}
    else:
        aggs = [_osd_count(), _osd_terms("2", "bucket", chart.field, chart.size, other=False)]
        vis = {"title": chart.title, "type": "table", "aggs": aggs,
               "params": {"perPage": chart.size, "showPartialRows": False, "showMetricsAtAllLevels": False,
                          "showTotal": False, "totalFunc": "sum", "percentageCol": ""}}
    attributes = {
        "title": chart.title,
        "description": chart.description,
        "visState": _json(vis),
        "uiStateJSON": "{}",
        "version": 1,
        "kibanaSavedObjectMeta": {"searchSourceJSON": _search_source(_query(chart.where), with_index=True)},
    }
    return _osd("visualization", chart.id, attributes, [_ref(INDEX_REF, "index-pattern", views[chart.view].id)])


def _osd_search(search: Search, views: Mapping[str, DataView]) -> dict[str, Any]:
    attributes = {**_search_attributes(search), "hits": 0, "version": 1}
    return _osd("search", search.id, attributes, [_ref(INDEX_REF, "index-pattern", views[search.view].id)])


def _osd_dashboard(dashboard: Dashboard, items: Mapping[str, Item]) -> dict[str, Any]:
    panels, refs = [], []
    for n, panel in enumerate(dashboard.panels, start=1):
        item = items[panel.item]
        ref_name = f"panel_{n - 1}"
        panels.append({"version": OSD_PANEL_VERSION, "panelIndex": str(n),
                       "gridData": {"x": panel.x, "y": panel.y, "w": panel.w, "h": panel.h, "i": str(n)},
                       "embeddableConfig": {}, "panelRefName": ref_name})
        refs.append(_ref(ref_name, "search" if isinstance(item, Search) else "visualization", item.id))
    attributes = {**_dashboard_attributes(dashboard, panels, {"hidePanelTitles": False, "useMargins": True}),
                  "hits": 0, "version": 1}
    return _osd("dashboard", dashboard.id, attributes, refs)


# -- entry points ---------------------------------------------------------


def saved_objects(flavor: str, indices: Indices | None = None) -> list[dict[str, Any]]:
    """The saved objects for ``flavor`` (kibana or opensearch), data views
    first, the dashboard last (the order an export has)."""
    if flavor not in FLAVORS:
        raise ValueError(f"unknown dashboards flavor {flavor!r}; choose from {list(FLAVORS)}")
    check_fields()
    indices = indices or Indices.defaults()
    views, items = _views(), _items()
    if flavor == KIBANA:
        return [
            *(_kibana_data_view(view, indices) for view in DATA_VIEWS),
            *(_kibana_search(search, views) for search in SEARCHES),
            *(_kibana_lens(chart, views) for chart in CHARTS),
            _kibana_dashboard(OVERVIEW, items),
        ]
    return [
        *(_osd_index_pattern(view, indices) for view in DATA_VIEWS),
        *(_osd_search(search, views) for search in SEARCHES),
        *(_osd_visualization(chart, views) for chart in CHARTS),
        _osd_dashboard(OVERVIEW, items),
    ]


def to_ndjson(objects: Iterable[Mapping[str, Any]]) -> str:
    """One compact JSON object a line, UTF-8 text kept as it is."""
    return "".join(_json(obj) + "\n" for obj in objects)


def ndjson(flavor: str, indices: Indices | None = None) -> str:
    return to_ndjson(saved_objects(flavor, indices))


def write_files() -> list[Path]:
    """Write the committed NDJSON files (default index names)."""
    written = []
    for flavor, path in OUTPUT_FILES.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(ndjson(flavor), encoding="utf-8")
        written.append(path)
    return written


def main() -> int:
    for path in write_files():
        print(path.relative_to(REPO_ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())

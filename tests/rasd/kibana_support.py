"""Reading the dashboards' NDJSON files the way Kibana and OpenSearch
Dashboards read them, independently of ``rasd.dashboards``: which fields each
object uses, and which search request each panel sends. The demo data the
engine tests index lives here too.

The request translation covers exactly the constructs the files use (count
metrics, terms and date histogram buckets, Lucene queries, sorted document
tables) and fails loudly on anything else, so an object it cannot translate
is never silently skipped."""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

LUCENE_FIELD = re.compile(r'(NOT\s+)?([A-Za-z_][\w.]*):("(?:[^"\\]|\\.)*"|[^\s()]+)')
# Kibana's "auto" interval aims at about this many buckets (histogram:barTarget).
BAR_TARGET = 50
INTERVALS = ("1m", "5m", "10m", "30m", "1h", "3h", "12h", "1d", "7d", "30d")
_UNIT_S = {"m": 60, "h": 3600, "d": 86400}


def read_ndjson(path: Path) -> list[dict[str, Any]]:
    objects = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        assert line.strip(), f"{path.name}:{number}: blank line"
        obj = json.loads(line)
        assert isinstance(obj, dict), f"{path.name}:{number}: not a JSON object"
        objects.append(obj)
    return objects


def resolve_time(expr: str, now: datetime) -> datetime:
    """Kibana date math, the forms the dashboards use: now, now-7d, now-24h."""
    if expr == "now":
        return now
    found = re.fullmatch(r"now-(\d+)([mhd])", expr)
    assert found, f"unsupported date math {expr!r}"
    return now - timedelta(seconds=int(found[1]) * _UNIT_S[found[2]])


def auto_interval(start: datetime, end: datetime) -> str:
    """The bucket size Kibana's "auto" picks: the smallest listed interval
    that gives at most about BAR_TARGET buckets."""
    span = (end - start).total_seconds()
    for interval in INTERVALS:
        if span / (int(interval[:-1]) * _UNIT_S[interval[-1]]) <= BAR_TARGET * 1.5:
            return interval
    return INTERVALS[-1]


@dataclass(frozen=True)
class FieldUse:
    index: str  # the data view's title (index, alias or pattern)
    field: str
    use: str  # time | terms | text | filter | column | sort | link
    where: str  # which object


@dataclass(frozen=True)
class PanelRequest:
    title: str
    index: str
    body: dict[str, Any]
    kind: str  # aggs | hits


class SavedObjects:
    """The objects of one NDJSON file, for one product (kibana|opensearch)."""

    def __init__(self, objects: list[dict[str, Any]], flavor: str) -> None:
        self.objects = objects
        self.flavor = flavor
        self.by_key = {(o["type"], o["id"]): o for o in objects}

    def of_type(self, type_: str) -> list[dict[str, Any]]:
        return [o for o in self.objects if o["type"] == type_]

    def ref(self, obj: dict[str, Any], name: str) -> dict[str, Any]:
        [found] = [r for r in obj["references"] if r["name"] == name]
        return self.by_key[(found["type"], found["id"])]

    def view_of(self, obj: dict[str, Any], name: str) -> dict[str, Any]:
        view = self.ref(obj, name)
        assert view["type"] == "index-pattern"
        return view

    # -- the dashboard's panels --
    def panels(self, dashboard_id: str) -> list[dict[str, Any]]:
        dashboard = self.by_key[("dashboard", dashboard_id)]
        found = []
        for panel in json.loads(dashboard["attributes"]["panelsJSON"]):
            name = panel["panelRefName"]
            if self.flavor == "kibana":
                name = f"{panel['panelIndex']}:{name}"  # how Kibana 8+ prefixes panel references
            found.append(self.ref(dashboard, name))
        return found

    # -- fields --
    def field_uses(self) -> Iterator[FieldUse]:
        for obj in self.objects:
            where = f"{obj['type']} {obj['id']}"
            attrs = obj["attributes"]
            if obj["type"] == "index-pattern":
                title = attrs["title"]
                yield FieldUse(title, attrs["timeFieldName"], "time", where)
                for name in json.loads(attrs.get("fieldFormatMap") or "{}"):
                    yield FieldUse(title, name, "link", where)
            elif obj["type"] == "search":
                title = self.view_of(obj, INDEX_REF)["attributes"]["title"]
                for name in attrs["columns"]:
                    yield FieldUse(title, name, "column", where)
                for name, _ in attrs["sort"]:
                    yield FieldUse(title, name, "sort", where)
                yield from _query_uses(title, _search_source(obj)["query"], where)
            elif obj["type"] == "visualization":
                title = self.view_of(obj, INDEX_REF)["attributes"]["title"]
                for agg in json.loads(attrs["visState"])["aggs"]:
                    if agg["type"] == "date_histogram":
                        yield FieldUse(title, agg["params"]["field"], "time", where)
                    elif agg["type"] == "terms":
                        yield FieldUse(title, agg["params"]["field"], "terms", where)
                yield from _query_uses(title, _search_source(obj)["query"], where)
            elif obj["type"] == "lens":
                state = attrs["state"]
                for layer_id, layer in state["datasourceStates"]["formBased"]["layers"].items():
                    title = self.view_of(obj, f"indexpattern-datasource-layer-{layer_id}")["attributes"]["title"]
                    for column in layer["columns"].values():
                        if column["operationType"] == "date_histogram":
                            yield FieldUse(title, column["sourceField"], "time", where)
                        elif column["operationType"] == "terms":
                            yield FieldUse(title, column["sourceField"], "terms", where)
                    yield from _query_uses(title, state["query"], where)

    # -- requests --
    def requests(self, obj: dict[str, Any], start: datetime, end: datetime) -> list[PanelRequest]:
        attrs = obj["attributes"]
        if obj["type"] == "search":
            view = self.view_of(obj, INDEX_REF)
            query = _bool(view, _search_source(obj)["query"], [], start, end)
            sort = [{name: {"order": order}} for name, order in attrs["sort"]]
            body = {"size": 100, "query": query, "sort": sort, "track_total_hits": True}
            return [PanelRequest(attrs["title"], view["attributes"]["title"], body, "hits")]
        if obj["type"] == "visualization":
            view = self.view_of(obj, INDEX_REF)
            vis = json.loads(attrs["visState"])
            buckets = []
            for agg in vis["aggs"]:
                if agg["schema"] == "metric":
                    assert agg["type"] == "count", f"{obj['id']}: only count metrics are translated"
                    continue
                buckets.append(_osd_bucket(agg, start, end))
            query = _bool(view, _search_source(obj)["query"], _search_source(obj)["filter"], start, end)
            return [PanelRequest(attrs["title"], view["attributes"]["title"], _aggs_body(query, buckets), "aggs")]
        if obj["type"] == "lens":
            state = attrs["state"]
            found = []
            for layer_id, layer in state["datasourceStates"]["formBased"]["layers"].items():
                view = self.view_of(obj, f"indexpattern-datasource-layer-{layer_id}")
                columns = layer["columns"]
                buckets = []
                for column_id in layer["columnOrder"]:
                    column = columns[column_id]
                    if not column["isBucketed"]:
                        assert column["operationType"] == "count", f"{obj['id']}: only count metrics are translated"
                        continue
                    buckets.append(_lens_bucket(column, columns, start, end))
                query = _bool(view, state["query"], state["filters"], start, end)
                found.append(PanelRequest(attrs["title"], view["attributes"]["title"],
                                          _aggs_body(query, buckets), "aggs"))
            return found
        raise AssertionError(f"no request translation for {obj['type']}")


INDEX_REF = "kibanaSavedObjectMeta.searchSourceJSON.index"


def _search_source(obj: dict[str, Any]) -> dict[str, Any]:
    return json.loads(obj["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])


def _query_uses(index: str, query: dict[str, Any], where: str) -> Iterator[FieldUse]:
    if query.get("language") != "lucene":
        assert not query.get("query"), f"{where}: only Lucene queries are read"
        return
    for negated, name, _ in LUCENE_FIELD.findall(query["query"]):
        yield FieldUse(index, name, "filter" if negated else "text", where)


def _bool(view: dict[str, Any], query: dict[str, Any], filters: list[Any], start: datetime,
          end: datetime) -> dict[str, Any]:
    """The query both products send: the time range on the data view's time
    field as a filter, a Lucene query as ``query_string``."""
    assert not filters, "filters are not translated"
    time_field = view["attributes"]["timeFieldName"]
    must: list[dict[str, Any]] = []
    if query.get("query"):
        assert query["language"] == "lucene", "only Lucene queries are translated"
        must.append({"query_string": {"query": query["query"], "analyze_wildcard": True, "time_zone": "UTC"}})
    time_range = {"range": {time_field: {"gte": start.isoformat(), "lte": end.isoformat(),
                                         "format": "strict_date_optional_time"}}}
    return {"bool": {"must": must, "filter": [time_range]}}


def _terms(name: str, size: int) -> dict[str, Any]:
    return {"terms": {"field": name, "size": size, "order": {"_count": "desc"}}}


def _date_histogram(name: str, interval: str, start: datetime, end: datetime, *, empty_rows: bool) -> dict[str, Any]:
    if interval == "auto":
        interval = auto_interval(start, end)
    histogram: dict[str, Any] = {"field": name, "fixed_interval": interval, "time_zone": "UTC",
                                 "min_doc_count": 0 if empty_rows else 1}
    if empty_rows:
        histogram["extended_bounds"] = {"min": int(start.timestamp() * 1000), "max": int(end.timestamp() * 1000)}
    return {"date_histogram": histogram}


def _lens_bucket(column: dict[str, Any], columns: dict[str, Any], start: datetime, end: datetime) -> dict[str, Any]:
    params = column["params"]
    if column["operationType"] == "terms":
        order = params["orderBy"]
        assert order["type"] == "column" and columns[order["columnId"]]["operationType"] == "count"
        assert params["orderDirection"] == "desc"
        return _terms(column["sourceField"], params["size"])
    assert column["operationType"] == "date_histogram", column["operationType"]
    return _date_histogram(column["sourceField"], params["interval"], start, end,
                           empty_rows=params.get("includeEmptyRows", False))


def _osd_bucket(agg: dict[str, Any], start: datetime, end: datetime) -> dict[str, Any]:
    params = agg["params"]
    if agg["type"] == "terms":
        assert params["orderBy"] == "1" and params["order"] == "desc"  # by the count metric
        return _terms(params["field"], params["size"])
    assert agg["type"] == "date_histogram", agg["type"]
    return _date_histogram(params["field"], params["interval"], start, end,
                           empty_rows=params.get("min_doc_count", 1) == 0)


def _aggs_body(query: dict[str, Any], buckets: list[dict[str, Any]]) -> dict[str, Any]:
    """Bucket aggregations nested in order (the first is the outermost)."""
    aggs: dict[str, Any] | None = None
    for number, bucket in reversed(list(enumerate(buckets, start=2))):
        node = dict(bucket)
        if aggs is not None:
            node["aggs"] = aggs
        aggs = {str(number): node}
    assert aggs is not None, "a chart without buckets"
    return {"size": 0, "query": query, "aggs": aggs, "track_total_hits": True}


def leaf_counts(aggs: dict[str, Any]) -> list[int]:
    """doc_count of every innermost bucket of a response's aggregations."""
    counts: list[int] = []
    for agg in aggs.values():
        for bucket in agg["buckets"]:
            inner = {k: v for k, v in bucket.items() if isinstance(v, dict) and "buckets" in v}
            counts += leaf_counts(inner) if inner else [bucket["doc_count"]]
    return counts


# -- demo data ----------------------------------------------------------------

CORPUS_SOURCES = {"ar": "akhbar-al-qawqaz", "en": "caucasus-wire", "ru": "kavkaz-lenta", "az": "xeber-az",
                  "fa": "khabar-qafqaz"}
DEMO_SOURCE = "alwaha-news"


def demo_articles(now: datetime) -> list[Any]:
    """Realistic articles: the demo site's Arabic stories and the alert
    corpus in five languages, fetched over the last two days."""
    from deploy.alert_corpus.corpus import load_corpus
    from deploy.demo_site.content import load_articles
    from ingest.arabic import normalize_arabic
    from ingest.identity import document_id
    from ingest.models import Article

    articles = []
    texts = [(DEMO_SOURCE, "alwaha.example", d.path, d.title, d.paragraphs, "ar", d.published_at, d.section)
             for d in load_articles()]
    texts += [(CORPUS_SOURCES[c.lang], f"{CORPUS_SOURCES[c.lang]}.example", f"/news/{c.id}.html", c.title,
               c.paragraphs, c.lang, c.published, None) for c in load_corpus()]
    for n, (source, domain, path, title, paragraphs, lang, published, section) in enumerate(texts):
        url = f"https://{domain}{path}"
        body = "\n\n".join(paragraphs)
        fetched = now - timedelta(minutes=23 * n + 5)
        articles.append(Article(
            id=document_id(url), url=url, fetched_url=url, source=source, domain=domain, title=title, body=body,
            title_norm=normalize_arabic(title), body_norm=normalize_arabic(body), language=lang,
            published_at=published, section=section, word_count=len(body.split()), fetched_at=fetched,
            extracted_at=fetched + timedelta(seconds=2),
        ))
    return articles


def demo_outcomes(articles: list[Any], now: datetime) -> list[Any]:
    """The extraction log of those fetches, plus pages ingest turned away."""
    from ingest.extraction import classification_of
    from ingest.extraction_log import PageOutcome
    from ingest.identity import document_id

    outcomes = [PageOutcome(source=a.source, url=a.url, page_id=a.id, fetched_at=a.fetched_at,
                            classification="article", reason=None, has_title=bool(a.title),
                            has_date=a.published_at is not None, body_chars=len(a.body), furniture_lines=3)
                for a in articles]
    turned_away = [("not_article", "/section/economy"), ("not_article", "/tag/karabakh"),
                   ("empty_extraction", "/video/1234"), ("too_large", "/archive/all"), ("http_error", "/gone")]
    for n, (reason, path) in enumerate(turned_away):
        url = f"https://alwaha.example{path}"
        outcomes.append(PageOutcome(source=DEMO_SOURCE, url=url, page_id=document_id(url),
                                    fetched_at=now - timedelta(hours=2 * n + 1), classification=classification_of(reason),
                                    reason=reason, has_title=False, has_date=False, body_chars=0, furniture_lines=0))
    return outcomes


def demo_alerts(articles: list[Any], now: datetime) -> list[Any]:
    """Alerts for the corpus articles labelled with rules, as the indexer
    raises them."""
    from deploy.alert_corpus.corpus import load_corpus
    from indexer.alerts.emit import PendingAlert
    from indexer.alerts.records import alert_id
    from ingest.models import Alert

    by_path = {a.url.rsplit("/", 1)[-1]: a for a in articles}
    pending = []
    for labelled in load_corpus():
        article = by_path[f"{labelled.id}.html"]
        for n, rule in enumerate(labelled.expected_rules):
            indexed = article.fetched_at + timedelta(seconds=30)
            pending.append(PendingAlert(Alert(
                id=alert_id(rule, article.id), rule=rule, severity="high", channels=[], article_id=article.id,
                url=article.url, source=article.source, title=article.title, language=article.language,
                published_at=article.published_at, snippet=article.title, matched_terms=[rule],
                indexed_at=indexed, alerted_at=indexed + timedelta(seconds=1 + n),
            )))
    assert pending, "the alert corpus labels articles with rules"
    return pending


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)

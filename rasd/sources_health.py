"""Per-source extraction health: `rasd sources health`.

Each source's last window (24 h by default) is compared with the baseline
before it (7 days): the share of empty extractions and of pages that are not
articles, the share of articles without a title or a date, the mean body
length and the furniture lines removed per page. A site redesign shows as a
jump in these rates the same day, long before anyone notices thin articles.

The rates are aggregated in the engine from the records ``ingest.extraction_log``
writes (one per processed page); no record is downloaded.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import structlog

from indexer.alerts.rules import parse_duration
from ingest.engines.client import VendorClient
from ingest.engines.detect import open_configured_client
from ingest.settings import Settings

log = structlog.get_logger(__name__)

# Below this many pages in the window (or the baseline) a rate is noise: with
# 5 pages one empty extraction is already 20 points. Ten keeps one odd page
# under the 20-point jump a flag needs, yet a source publishing a handful of
# articles an hour still gets judged within the day.
MIN_PAGES = 10
# A share flags when it rises by at least this much (absolute) ...
SHARE_RISE_MIN = 0.20
# ... and at least doubles: a source that always had 30% listing pages going
# to 50% is a busy news day; 4% empty going to 63% is a broken extractor.
SHARE_RATIO_MIN = 2.0
# The mean body length flags when it falls below half or rises above one and
# a half times the baseline: day-to-day the mix of briefs and long reads moves
# it by a fifth or so; a redesign that cuts bodies (wrong container) or lets
# comments and related stories in (too wide a container) moves it by half.
BODY_CHANGE_MIN = 0.5
# Furniture removed per page flags when it more than doubles and by at least
# this many lines: new navigation or promotion blocks in a redesigned
# template; the absolute floor keeps 0.5 -> 1.2 lines from flagging.
FURNITURE_RATIO_MIN = 2.0
FURNITURE_RISE_MIN = 2.0
# A source with pages in the baseline and none in the window flags when the
# baseline's rate promises at least this many in the window: a source that
# publishes twice a week has quiet days (P(0 | 5 expected) < 1%).
MIN_EXPECTED_PAGES = 5.0
# Sources fetched per aggregation page (composite aggregation pagination).
PAGE_SOURCES = 500


@dataclass(frozen=True)
class SourceRates:
    """One source over one time range. Shares of empty and not-article pages
    are over all pages; missing title/date and the mean body length over
    articles; furniture over all pages (a page not extracted removed none)."""

    pages: int
    articles: int
    empty_share: float
    not_article_share: float
    missing_title_share: float
    missing_date_share: float
    mean_body_chars: float
    furniture_per_page: float


@dataclass(frozen=True)
class SourceHealth:
    source: str
    window: SourceRates
    baseline: SourceRates | None
    flags: list[str]  # what jumped, e.g. "empty extractions 4% -> 63%"
    notes: list[str] = field(default_factory=list)  # why a source was not (fully) judged

    @property
    def flagged(self) -> bool:
        return bool(self.flags)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "flagged": self.flagged,
            "flags": list(self.flags),
            "notes": list(self.notes),
            "window": asdict(self.window),
            "baseline": asdict(self.baseline) if self.baseline else None,
        }


EMPTY_RATES = SourceRates(0, 0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


def parse_span(value: str) -> float:
    """``30m``, ``24h``, ``7d`` (or seconds) -> seconds, more than zero."""
    seconds = parse_duration(value)
    if seconds <= 0:
        raise ValueError(f"bad duration {value!r}: must be more than 0")
    return seconds


def span_text(seconds: float) -> str:
    """``86400`` -> ``24h``, ``604800`` -> ``7d``: hours up to two days, the
    way people say "the last 24 hours" and "the week before"."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0 and (unit != "d" or seconds >= 2 * size):
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def _iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def _period_aggs() -> dict[str, Any]:
    return {
        "empty": {"filter": {"term": {"classification": "empty"}}},
        "not_article": {"filter": {"term": {"classification": "not_article"}}},
        "furniture": {"sum": {"field": "furniture_lines"}},
        "articles": {
            "filter": {"term": {"classification": "article"}},
            "aggs": {
                "no_title": {"filter": {"term": {"has_title": False}}},
                "no_date": {"filter": {"term": {"has_date": False}}},
                "body": {"avg": {"field": "body_chars"}},
            },
        },
    }


def health_query(window: tuple[datetime, datetime], baseline: tuple[datetime, datetime],
                 after: dict[str, Any] | None = None) -> dict[str, Any]:
    """One page of sources, each with its window and baseline figures."""
    composite: dict[str, Any] = {"size": PAGE_SOURCES, "sources": [{"source": {"terms": {"field": "source"}}}]}
    if after:
        composite["after"] = after
    return {
        "size": 0,
        "query": {"range": {"fetched_at": {"gte": _iso(baseline[0]), "lt": _iso(window[1])}}},
        "aggs": {
            "sources": {
                "composite": composite,
                "aggs": {
                    "periods": {
                        "filters": {
                            "filters": {
                                "window": {"range": {"fetched_at": {"gte": _iso(window[0]), "lt": _iso(window[1])}}},
                                "baseline": {"range": {"fetched_at": {"gte": _iso(baseline[0]),
                                                                      "lt": _iso(baseline[1])}}},
                            }
                        },
                        "aggs": _period_aggs(),
                    }
                },
            }
        },
    }


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def rates_from(bucket: dict[str, Any]) -> SourceRates:
    """A ``periods`` filter bucket as rates."""
    pages = int(bucket["doc_count"])
    articles = bucket["articles"]
    n_articles = int(articles["doc_count"])
    return SourceRates(
        pages=pages,
        articles=n_articles,
        empty_share=_share(bucket["empty"]["doc_count"], pages),
        not_article_share=_share(bucket["not_article"]["doc_count"], pages),
        missing_title_share=_share(articles["no_title"]["doc_count"], n_articles),
        missing_date_share=_share(articles["no_date"]["doc_count"], n_articles),
        mean_body_chars=float(articles["body"]["value"] or 0.0),
        furniture_per_page=_share(int(bucket["furniture"]["value"] or 0), pages),
    )


def _pct(share: float) -> str:
    return f"{share * 100:.0f}%"


def _share_flag(label: str, before: float, now: float) -> str | None:
    if now - before >= SHARE_RISE_MIN and now >= SHARE_RATIO_MIN * before:
        return f"{label} {_pct(before)} -> {_pct(now)}"
    return None


def _share_flags(shares: tuple[tuple[str, float, float], ...]) -> list[str]:
    """The flags of (label, baseline share, window share) triples."""
    return [flag for label, before, now in shares if (flag := _share_flag(label, before, now))]


def judge(window: SourceRates, baseline: SourceRates | None, expected_pages: float) -> tuple[list[str], list[str]]:
    """Flags (what jumped) and notes (what could not be judged) for one
    source; ``expected_pages``: the window's pages at the baseline's rate."""
    flags: list[str] = []
    notes: list[str] = []
    if window.pages == 0:
        if baseline is not None and expected_pages >= MIN_EXPECTED_PAGES:
            flags.append(f"no pages in the window ({baseline.pages:,} in the baseline, ~{expected_pages:.0f} expected)")
        else:
            notes.append("no pages in the window; too few in the baseline to expect any")
        return flags, notes
    if baseline is None or baseline.pages == 0:
        notes.append("no baseline to compare with: a new source?")
        return flags, notes
    if window.pages < MIN_PAGES or baseline.pages < MIN_PAGES:
        notes.append(f"too few pages to judge: {window.pages} in the window, {baseline.pages} in the baseline, "
                     f"needs {MIN_PAGES}")
        return flags, notes
    flags += _share_flags((("empty extractions", baseline.empty_share, window.empty_share),
                           ("not articles", baseline.not_article_share, window.not_article_share)))
    before_f, now_f = baseline.furniture_per_page, window.furniture_per_page
    if now_f > FURNITURE_RATIO_MIN * before_f and now_f - before_f >= FURNITURE_RISE_MIN:
        flags.append(f"furniture {before_f:.1f} -> {now_f:.1f} lines per page")
    if window.articles < MIN_PAGES or baseline.articles < MIN_PAGES:
        notes.append(f"too few articles to judge titles, dates and length: {window.articles} in the window, "
                     f"{baseline.articles} in the baseline, needs {MIN_PAGES}")
        return flags, notes
    flags += _share_flags((("missing titles", baseline.missing_title_share, window.missing_title_share),
                           ("missing dates", baseline.missing_date_share, window.missing_date_share)))
    before_b, now_b = baseline.mean_body_chars, window.mean_body_chars
    if before_b > 0 and abs(now_b - before_b) > BODY_CHANGE_MIN * before_b:
        flags.append(f"mean body {before_b:,.0f} -> {now_b:,.0f} characters")
    return flags, notes


def _buckets(client: VendorClient, index: str, window: tuple[datetime, datetime],
             baseline: tuple[datetime, datetime]) -> Iterator[dict[str, Any]]:
    after: dict[str, Any] | None = None
    while True:
        result = client.search_raw(index, health_query(window, baseline, after))["aggregations"]["sources"]
        yield from result["buckets"]
        after = result.get("after_key")
        if not after or len(result["buckets"]) < PAGE_SOURCES:
            return


def source_health(
    settings: Settings,
    *,
    now: datetime | None = None,
    window_s: float | None = None,
    baseline_s: float | None = None,
    client: VendorClient | None = None,
) -> list[SourceHealth]:
    """Every source with a record in the window or the baseline, flagged ones
    first, then by name. Raises EngineError when the engine cannot answer;
    no records at all (no index yet) is an empty list."""
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    window_s = window_s or settings.health_window_s
    baseline_s = baseline_s or settings.health_baseline_s
    window = (now - timedelta(seconds=window_s), now)
    baseline = (window[0] - timedelta(seconds=baseline_s), window[0])
    index = settings.extraction_log_index
    own = client is None
    client = client or open_configured_client(settings)
    try:
        if not client.index_exists(index):
            return []
        report: list[SourceHealth] = []
        for bucket in _buckets(client, index, window, baseline):
            periods = bucket["periods"]["buckets"]
            now_rates = rates_from(periods["window"])
            before = rates_from(periods["baseline"]) if periods["baseline"]["doc_count"] else None
            expected = before.pages * window_s / baseline_s if before else 0.0
            flags, notes = judge(now_rates, before, expected)
            report.append(SourceHealth(bucket["key"]["source"], now_rates, before, flags, notes))
    finally:
        if own:
            client.close()
    flagged = [h.source for h in report if h.flagged]
    if flagged:
        log.debug("sources_flagged", sources=flagged, window_s=window_s, baseline_s=baseline_s)
    return sorted(report, key=lambda h: (not h.flagged, h.source))


def render_json(report: list[SourceHealth]) -> str:
    return json.dumps([h.as_dict() for h in report], indent=2, ensure_ascii=False)


HEADERS = ("", "source", "pages", "empty", "not art.", "no title", "no date", "mean body", "furn./page", "flags")
# right-aligned: the numbers
_RIGHT = {2, 3, 4, 5, 6, 7, 8}


def _row(h: SourceHealth) -> tuple[str, ...]:
    w = h.window
    has_articles = w.articles > 0
    remarks = "; ".join(h.flags + [f"({note})" for note in h.notes])
    return (
        "!" if h.flagged else "",
        h.source,
        f"{w.pages:,}",
        _pct(w.empty_share) if w.pages else "-",
        _pct(w.not_article_share) if w.pages else "-",
        _pct(w.missing_title_share) if has_articles else "-",
        _pct(w.missing_date_share) if has_articles else "-",
        f"{w.mean_body_chars:,.0f}" if has_articles else "-",
        f"{w.furniture_per_page:.1f}" if w.pages else "-",
        remarks,
    )


def render_table(report: list[SourceHealth], *, window_s: float, baseline_s: float, index: str) -> str:
    """One row per source, the window's figures; flagged rows start with ``!``."""
    span = f"last {span_text(window_s)} against the {span_text(baseline_s)} before"
    if not report:
        return f"no extraction records for the {span} (index {index})"
    rows = [HEADERS] + [_row(h) for h in report]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADERS))]

    def line(row: tuple[str, ...]) -> str:
        cells = [cell.rjust(widths[i]) if i in _RIGHT else cell.ljust(widths[i]) for i, cell in enumerate(row)]
        return "  ".join(cells).rstrip()

    flagged = sum(h.flagged for h in report)
    summary = f"{len(report)} source(s), {flagged} flagged ({span}; rates over the window)"
    return "\n".join([line(rows[0]), *(line(r) for r in rows[1:]), "", summary])

"""The main job, end to end on the local stack: stack up -> crawl -> ingest ->
index into every engine -> report. The stages run one after another here so
the report can count each; in production they are separate long-running
services (docker-compose.yml)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from crawlers.run import crawl
from crawlers.sources import Source, load_sources
from deploy.demo_site.server import DemoSite
from deploy.stack import manager
from indexer.alerts.rules_file import load_rules
from indexer.alerts.rules_index import PercolatorUnavailable, sync_rules
from indexer.engines.base import SearchEngine
from indexer.engines.detect import open_configured_engine
from indexer.worker import IndexerStats, run_indexer
from ingest.kafka_io import ensure_topics
from ingest.settings import Settings
from ingest.worker import IngestStats, run_ingest
from rasd.stage_progress import index_progress, ingest_progress

log = structlog.get_logger(__name__)
SAMPLE_QUERY = "كاراباخ"
# The rules docker-compose syncs (a Karabakh rule, no delivery channels):
# used when there is no rules file, so the demo shows alerts out of the box.
DEMO_RULES = Path(__file__).resolve().parents[1] / "deploy" / "compose" / "rules.yaml"


class DemoFailed(RuntimeError):
    """A stage of the demo run did not complete."""


@dataclass
class EngineReport:
    name: str
    url: str
    indexed_this_run: int
    documents: int
    arabic_analysis: bool
    sample_hits: list[str] = field(default_factory=list)
    # alerts in the alerts index by rule; None: the engine has no percolator
    alerts: dict[str, int] | None = None


@dataclass
class DemoReport:
    sources: list[str]
    pages_fetched: int
    crawl_dead_letters: dict[str, int]
    articles_extracted: int
    ingest_dead_letters: dict[str, int]
    engines: list[EngineReport]
    elapsed_s: float

    def render(self) -> str:
        lines = [
            "Rasd demo run",
            f"  sources:             {', '.join(self.sources)}",
            f"  pages fetched:       {self.pages_fetched}",
            f"  articles extracted:  {self.articles_extracted}",
            f"  dead letters:        crawl {self.crawl_dead_letters or {}}, ingest {self.ingest_dead_letters or {}}",
        ]
        for e in self.engines:
            analysis = "arabic analysis" if e.arabic_analysis else "fallback analysis (no analysis-common module)"
            lines.append(f"  {e.name} ({e.url}, {analysis}):")
            lines.append(f"    documents in index: {e.documents} (written this run: {e.indexed_this_run})")
            lines.append(f"    search {SAMPLE_QUERY!r}: {len(e.sample_hits)} hit(s)")
            lines.extend(f"      - {title}" for title in e.sample_hits)
            if e.alerts is None:
                lines.append("    alerts: not available (this engine has no percolator module)")
            else:
                lines.append(f"    alerts by rule: {e.alerts or 'none'}")
        lines.append(f"  elapsed:             {self.elapsed_s:.1f} s")
        return "\n".join(lines)


def _demo_sources(site: DemoSite) -> list[Source]:
    return [Source(name="demo", feeds=[site.feed_url], sitemaps=[site.sitemap_url])]


def _apply_rules(settings: Settings, engine: SearchEngine) -> bool:
    """Sync the rules file (or the demo's rules) into the engine; False when
    the engine cannot hold rules (no percolator module)."""
    path = settings.rules_file if settings.rules_file.exists() else DEMO_RULES
    try:
        sync_rules(engine, settings, load_rules(path))  # type: ignore[arg-type]
    except PercolatorUnavailable:
        return False
    return True


def _alerts_by_rule(settings: Settings, engine: SearchEngine) -> dict[str, int]:
    if not engine.index_exists(settings.alerts_index):  # type: ignore[attr-defined]
        return {}
    engine.refresh_index(settings.alerts_index)  # type: ignore[attr-defined]
    body = {"size": 0, "aggs": {"rules": {"terms": {"field": "rule", "size": 100}}}}
    buckets = engine.search_raw(settings.alerts_index, body)["aggregations"]["rules"]["buckets"]  # type: ignore[attr-defined]
    return {b["key"]: b["doc_count"] for b in buckets}


def run_demo(settings: Settings) -> DemoReport:
    started = time.monotonic()
    endpoints = manager.up(settings)
    settings = settings.model_copy(update={"kafka_bootstrap_servers": endpoints["kafka"]})
    ensure_topics(settings)

    site: DemoSite | None = None
    if settings.sources_file:
        sources = load_sources(settings.sources_file)
    else:
        site = DemoSite()
        site.start(host="127.0.0.1", port=settings.demo_site_port)
        # the crawler refuses loopback addresses unless allowed
        settings = settings.allowing("127.0.0.1/32")
        sources = _demo_sources(site)
    try:
        log.info("demo_crawl", sources=[s.name for s in sources])
        crawl_report = crawl(settings, sources)
    finally:
        if site is not None:
            site.stop()
    if not crawl_report.ok:
        raise DemoFailed(
            f"crawl did not complete: finish reason {crawl_report.finish_reason!r}, "
            f"{crawl_report.publish_errors} page(s) Kafka refused"
        )

    log.info("demo_ingest", pages=crawl_report.pages_published)
    ingest_stats = IngestStats()
    with ingest_progress(settings, ingest_stats, crawl_report.pages_published):
        run_ingest(settings, until_end=True, stats=ingest_stats)

    engines: list[EngineReport] = []
    for name in ("opensearch", "elasticsearch"):
        url = endpoints[name]
        engine = open_configured_engine(settings, url)
        try:
            percolator = _apply_rules(settings, engine)
            log.info("demo_index", engine=name, url=url, articles=ingest_stats.articles)
            stats = IndexerStats()
            with index_progress(settings, stats, ingest_stats.articles, name):
                run_indexer(settings.model_copy(update={"search_url": url}), engine, until_end=True, stats=stats)
            engine.refresh(settings.articles_alias)
            hits = engine.search(settings.articles_alias, SAMPLE_QUERY, size=5)
            engines.append(
                EngineReport(
                    name=name,
                    url=url,
                    indexed_this_run=stats.indexed,
                    documents=engine.count(settings.articles_alias),
                    arabic_analysis=engine.has_arabic_analysis(),
                    sample_hits=[h["_source"].get("title") or h["_source"].get("url") for h in hits],
                    alerts=_alerts_by_rule(settings, engine) if percolator else None,
                )
            )
        finally:
            engine.close()

    return DemoReport(
        sources=[s.name for s in sources],
        pages_fetched=crawl_report.pages_published,
        crawl_dead_letters=crawl_report.dead_letters,
        articles_extracted=ingest_stats.articles,
        ingest_dead_letters=ingest_stats.dead_letters,
        engines=engines,
        elapsed_s=time.monotonic() - started,
    )

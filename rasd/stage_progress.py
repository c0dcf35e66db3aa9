"""Progress lines of the ingest and index stages when a command (the demo, a
benchmark) drains them one after another and knows how much is coming."""
from __future__ import annotations

from indexer.worker import IndexerStats
from ingest.progress import Progress, Snapshot
from ingest.settings import Settings
from ingest.worker import IngestStats


def ingest_progress(settings: Settings, stats: IngestStats, total: int | None) -> Progress:
    """Pages extracted of ``total`` (the pages the crawl just published)."""
    return Progress(
        "ingest",
        lambda: Snapshot(stats.pages, total, {"articles": stats.articles,
                                              "dead_letters": sum(dict(stats.dead_letters).values())}),
        settings.progress_interval_s,
    )


def index_progress(settings: Settings, stats: IndexerStats, total: int | None, engine: str) -> Progress:
    """Articles handled of ``total`` (those the ingest stage just sent)."""
    return Progress(
        "index",
        lambda: Snapshot(stats.records, total, {"engine": engine, "indexed": stats.indexed,
                                                "dead_letters": stats.dead_lettered}),
        settings.progress_interval_s,
        unit="articles",
    )

"""The ingest stage's Prometheus metrics (served by ``ingest.observability``).
Labels are bounded: outcomes, dead-letter reasons and language codes, never URLs."""
from __future__ import annotations

from prometheus_client import Counter, Histogram

PAGES = Counter(
    "rasd_ingest_pages",
    "Pages processed: outcome article (reason empty) or dead_letter (reason: why)",
    ["outcome", "reason"],
)
ARTICLES = Counter("rasd_ingest_articles", "Articles published, by detected language", ["language"])
BATCH_SECONDS = Histogram(
    "rasd_ingest_batch_seconds",
    "Wall time of one batch's tail (shared stores, publishing, acknowledgements)",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)


def page_dead(reason: str) -> None:
    PAGES.labels("dead_letter", reason).inc()


def article_published(language: str | None) -> None:
    PAGES.labels("article", "").inc()
    ARTICLES.labels(language or "unknown").inc()

"""`rasd reextract --source S --since DATE`: run the ingest stage again over
raw pages already fetched, after an extraction improvement.

The raw pages are the pages topic itself (kept ``RASD_PAGES_RETENTION_DAYS``
days): nothing is fetched again. Kafka's time index finds the first page at
or after ``--since`` in each partition (``offsets_for_times``), so a re-run
over last week does not read the months before it. Pages go through exactly
the worker's batch code (extraction, site boilerplate, story clusters,
extraction log) and the articles go to the articles topic under their old
ids: the indexer overwrites the documents in place, story clusters keep
their ids, and alert ids (rule + article) make no second alert.

The reader has no consumer group: it neither takes partitions from the
running ingest workers nor moves their committed offsets."""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog
import typer
from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from ingest.kafka_io import ContractError, Publisher, decode, make_consumer, make_producer
from ingest.models import FetchedPage
from ingest.progress import Progress, Snapshot
from ingest.settings import Settings
from ingest.worker import IngestParts, IngestStats, process_batch

log = structlog.get_logger(__name__)


@dataclass
class ReextractReport:
    partitions: int = 0
    # records between the start and end offsets found: what ``read`` goes up to
    total: int = 0
    read: int = 0
    matched: int = 0
    unreadable: int = 0
    articles: int = 0
    dead_letters: int = 0
    seconds: float = 0.0


def _reader(settings: Settings) -> KafkaConsumer:
    # no group: nothing to commit, no partitions taken from running workers.
    # Pages older than the start that retention removed meanwhile: the
    # consumer's "earliest" reset reads what is left instead of jumping to the end.
    return make_consumer(settings, None, None, client_id="rasd-reextract")


def _ranges(consumer: KafkaConsumer, topic: str, since: datetime | None) -> dict[TopicPartition, tuple[int, int]]:
    """Per partition, [first offset at or after ``since``, end offset now)."""
    partitions = consumer.partitions_for_topic(topic)
    if not partitions:
        raise ValueError(f"topic {topic!r} does not exist or has no partitions")
    tps = [TopicPartition(topic, p) for p in sorted(partitions)]
    ends = consumer.end_offsets(tps)
    if since is None:
        starts = consumer.beginning_offsets(tps)
    else:
        found = consumer.offsets_for_times({tp: int(since.timestamp() * 1000) for tp in tps})
        # no record at or after ``since`` in a partition: nothing to read there
        starts = {tp: (found[tp].offset if found.get(tp) is not None else ends[tp]) for tp in tps}
    return {tp: (starts[tp], ends[tp]) for tp in tps if starts[tp] < ends[tp]}


def _wanted(page: FetchedPage, sources: frozenset[str] | None, since: datetime | None) -> bool:
    # the record timestamp found the start; the page's own fetch time decides
    return (sources is None or page.source in sources) and (since is None or page.fetched_at >= since)


def reextract(
    settings: Settings,
    *,
    sources: Sequence[str] | None,
    since: datetime | None,
    parts: IngestParts | None = None,
) -> ReextractReport:
    """Re-run extraction over the stored pages of ``sources`` (all when None)
    fetched at or after ``since`` (all kept when None), logging progress
    every ``progress_interval_s``."""
    report = ReextractReport()
    with Progress("reextract", lambda: _snapshot(report), settings.progress_interval_s):
        _reextract(settings, report, sources, since, parts)
    log.info("reextract_done", **report.__dict__)
    return report


def _snapshot(report: ReextractReport) -> Snapshot:
    return Snapshot(report.read, report.total or None,
                    {"matched": report.matched, "articles": report.articles, "dead_letters": report.dead_letters})


def _reextract(settings: Settings, report: ReextractReport, sources: Sequence[str] | None, since: datetime | None,
               parts: IngestParts | None) -> None:
    started = time.monotonic()
    wanted = frozenset(sources) if sources else None
    consumer = _reader(settings)
    own_parts = parts is None
    parts = parts or IngestParts.open(settings)
    publisher = Publisher(make_producer(settings, client_id="rasd-reextract"))
    stats = IngestStats()
    failed = True
    try:
        ranges = _ranges(consumer, settings.topic_pages, since)
        report.partitions = len(ranges)
        report.total = sum(end - start for start, end in ranges.values())
        consumer.assign(list(ranges))
        for tp, (start, _end) in ranges.items():
            consumer.seek(tp, start)
        remaining = dict(ranges)
        while remaining:
            polled = consumer.poll(timeout_ms=settings.consumer_poll_timeout_ms)
            batch: list[ConsumerRecord] = []
            for tp, records in polled.items():
                end = remaining.get(tp, (0, 0))[1]
                for record in records:
                    if record.offset >= end:
                        continue
                    report.read += 1
                    try:
                        page = decode(record.value, FetchedPage)
                    except ContractError:
                        report.unreadable += 1
                        continue
                    if _wanted(page, wanted, since):
                        batch.append(record)
            # checked for every partition, not only those that returned
            # records: a partition can end in offsets with no record
            # (transaction markers), which no poll ever returns
            for tp, (_start, end) in list(remaining.items()):
                if consumer.position(tp) >= end:
                    del remaining[tp]
                    consumer.pause(tp)
            if batch:
                report.matched += len(batch)
                process_batch(batch, settings, publisher, stats, parts)
                report.articles, report.dead_letters = stats.articles, sum(stats.dead_letters.values())
        failed = False
    finally:
        publisher.close(flush=not failed)
        consumer.close()
        if own_parts:
            parts.close()
    report.seconds = time.monotonic() - started


def parse_since(value: str, *, now: datetime | None = None) -> datetime:
    """``--since``: an ISO 8601 date or time (UTC when it has no offset)."""
    from datetime import timezone

    from ingest.dates import parse_iso_datetime

    parsed = parse_iso_datetime(value.strip())
    if parsed is None:
        raise ValueError(f"not an ISO 8601 date or time: {value!r} (e.g. 2026-11-20 or 2026-11-20T08:00+03:00)")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def reextract_command(source: list[str] | None, since: str | None) -> None:
    """`rasd reextract` (arguments as typed; rasd.cli holds the options)."""
    from ingest.logs import configure_logging
    from ingest.source_profiles import SourceProfileError, load_profiles

    settings = Settings()
    configure_logging(settings.log_level, settings.log_json)
    try:
        start = parse_since(since) if since else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--since") from exc
    if source and settings.sources_file is not None:
        try:
            known = load_profiles(settings.sources_file)
        except SourceProfileError as exc:
            raise typer.BadParameter(str(exc), param_hint="RASD_SOURCES_FILE") from exc
        unknown = [s for s in source if s not in known]
        if unknown:
            raise typer.BadParameter(f"not in {settings.sources_file}: {', '.join(unknown)}", param_hint="--source")

    report = reextract(settings, sources=source, since=start)
    typer.echo(
        f"re-extracted {', '.join(source) if source else 'every source'}"
        f"{f' since {start.isoformat()}' if start else ''}: {report.partitions} partitions, {report.read} pages read, "
        f"{report.matched} pages matched, {report.articles} articles sent to {settings.topic_articles}, "
        f"{report.dead_letters} dead letters, {report.unreadable} unreadable, {report.seconds:.1f} s"
    )

"""`rasd reextract` on real Kafka and OpenSearch: after an extraction fix (a
source's rule in the sources file), the stored raw pages of that source
since a date are extracted again and the indexed documents are updated in
place: same ids, no second copy, other sources and older pages untouched."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from kafka import KafkaProducer
from typer.testing import CliRunner

from indexer.engines.detect import open_engine
from indexer.worker import run_indexer
from ingest.engines.detect import open_configured_client
from ingest.kafka_connection import kafka_client_kwargs
from ingest.kafka_io import encode
from ingest.models import Article
from ingest.settings import Settings
from ingest.worker import run_ingest
from rasd.cli import app
from rasd.reextract import parse_since, reextract
from tests.indexer.support import read_keyed, settings_env
from tests.ingest.pages import PARAGRAPHS, article_html, fetched_page
from tests.progress_support import json_events, logged_before, progress_lines

# a line the general extraction keeps (it reads like prose) and the site's
# editors want out: the fix is a rule in the sources file
PROMO = ("هذه المادة جزء من ملف خاص أعدته هيئة التحرير عن العلاقات بين دول جنوب القوقاز خلال العقد الأخير "
         "وينشر على حلقات")
NOW = datetime.now(timezone.utc).replace(microsecond=0)
OLD = NOW - timedelta(days=3)
RECENT = NOW - timedelta(hours=1)


def _sources(path: Path, alpha_rules: dict | None = None) -> None:
    alpha = {"name": "alpha", "homepage": "https://alpha.example/", "timezone": "Asia/Riyadh"}
    if alpha_rules:
        alpha["extraction"] = alpha_rules
    path.write_text(yaml.safe_dump({"sources": [alpha, {"name": "beta", "homepage": "https://beta.example/"}]},
                                   allow_unicode=True), encoding="utf-8")


def _page(source: str, n: int, fetched_at: datetime) -> tuple[bytes, int]:
    # numbered, so that the site-boilerplate learning (lines repeated on many
    # pages) does not remove it: only the rule does
    note = f"{PROMO} (الحلقة {n})"
    html = article_html([PARAGRAPHS[0], note, *PARAGRAPHS[1:]]).replace(
        "<p>" + note, '<p class="series-note">' + note)
    page = fetched_page(html, url=f"https://{source}.example/news/{n}.html").model_copy(
        update={"source": source, "fetched_at": fetched_at})
    # the crawler sends a page right after fetching it: record time = fetch time
    return encode(page), int(fetched_at.timestamp() * 1000)


def _produce(settings: Settings, pages: list[tuple[bytes, int]]) -> None:
    producer = KafkaProducer(**kafka_client_kwargs(settings))
    for value, ts in pages:
        producer.send(settings.topic_pages, value=value, timestamp_ms=ts)
    producer.flush()
    producer.close()


@pytest.fixture
def indexed(settings: Settings, opensearch_url: str, tmp_path: Path):
    sources = tmp_path / "sources.yaml"
    _sources(sources)
    s = settings.model_copy(update={"sources_file": sources})
    _produce(s, [_page("alpha", 1, OLD), _page("alpha", 2, OLD), _page("alpha", 3, RECENT), _page("alpha", 4, RECENT),
                 _page("beta", 5, RECENT), _page("beta", 6, RECENT)])
    assert run_ingest(s, until_end=True).articles == 6
    engine = open_engine(opensearch_url)
    engine.ensure_index(s.articles_alias)
    run_indexer(s, engine, until_end=True)
    yield s, engine, sources
    engine.close()


def _bodies(settings: Settings, engine) -> dict[str, str]:  # type: ignore[no-untyped-def]
    engine.refresh(settings.articles_alias)
    client = open_configured_client(settings)
    try:
        found = client.search_raw(settings.articles_alias, {"size": 100, "_source": ["url", "body"]})
    finally:
        client.close()
    hits = found["hits"]["hits"]
    assert len(hits) == len({h["_source"]["url"] for h in hits}), "a second copy of a document"
    return {h["_source"]["url"]: h["_source"]["body"] for h in hits}


def test_a_fixed_rule_reaches_the_recent_pages_of_its_source_and_only_those(indexed):
    settings, engine, sources = indexed
    before = _bodies(settings, engine)
    assert len(before) == 6 and all(PROMO in body for body in before.values())
    _sources(sources, {"remove": [".series-note"]})  # the fix

    report = reextract(settings, sources=["alpha"], since=NOW - timedelta(days=1))
    assert (report.matched, report.articles, report.dead_letters, report.unreadable) == (2, 2, 0, 0)
    # the Kafka time index started the read at the recent pages
    assert report.read == 4

    run_indexer(settings, open_engine(settings.search_url), until_end=True)
    after = _bodies(settings, engine)
    assert set(after) == set(before)  # updated in place: same ids, no second copy
    changed = {url for url in after if after[url] != before[url]}
    assert changed == {"https://alpha.example/news/3.html", "https://alpha.example/news/4.html"}
    assert all(PROMO not in after[url] and after[url].split("\n") == PARAGRAPHS for url in changed)


def test_the_articles_of_a_reextraction_keep_their_ids_and_story_clusters(indexed):
    settings, _engine, sources = indexed
    first = [a for _key, a in read_keyed(settings, settings.topic_articles, Article, 6)]
    _sources(sources, {"remove": [".series-note"]})
    reextract(settings, sources=None, since=None)
    both = [a for _key, a in read_keyed(settings, settings.topic_articles, Article, 12)]
    assert len(both) == 12
    by_id: dict[str, list[Article]] = {}
    for article in both:
        by_id.setdefault(article.id, []).append(article)
    assert sorted(by_id) == sorted(a.id for a in first) and all(len(v) == 2 for v in by_id.values())
    # the fix shows where the rule applies, and each article stays in its story cluster
    for versions in by_id.values():
        assert PROMO in versions[0].body
        assert (PROMO in versions[1].body) == (versions[1].source == "beta")
    assert all(v[0].cluster_id == v[1].cluster_id is not None for v in by_id.values())


def test_the_command_reports_progress_and_refuses_a_bad_date(indexed):
    settings, _engine, _sources_path = indexed
    runner = CliRunner()
    # a run of a second or so: progress lines many times a second
    env = settings_env(settings.model_copy(update={"progress_interval_s": 0.02, "log_json": True}))
    since = (NOW - timedelta(days=1)).isoformat()
    result = runner.invoke(app, ["reextract", "--source", "beta", "--since", since], env=env)
    assert result.exit_code == 0, result.output
    assert "2 pages matched" in result.output and "2 articles" in result.output
    events = json_events(result.output)
    lines = progress_lines(events, "reextract")
    # the four recent pages (two per source) lie at or after --since in their partitions
    counted = [e for e in lines if e.get("of") == 4]
    assert counted and logged_before(events, counted[0], "reextract_done"), lines
    assert all(0 <= e["matched"] <= e["pages"] <= e["of"] and e["per_s"] >= 0 and 0 <= e["pct"] <= 100
               for e in counted)
    assert lines == sorted(lines, key=lambda e: e["pages"])
    bad = runner.invoke(app, ["reextract", "--source", "beta", "--since", "last tuesday"], env=env)
    assert bad.exit_code == 2 and "ISO 8601" in bad.output
    unknown = runner.invoke(app, ["reextract", "--source", "gamma"], env=env)
    assert unknown.exit_code == 2 and "gamma" in unknown.output


def test_since_accepts_dates_and_times_with_or_without_an_offset():
    assert parse_since("2026-11-20") == datetime(2026, 11, 20, tzinfo=timezone.utc)
    assert parse_since("2026-11-20T08:00+03:00") == datetime(2026, 11, 20, 5, 0, tzinfo=timezone.utc)
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_since("yesterday")

"""SIGTERM (docker stop, kill) to each stage's command in the middle of its
work: it exits 0 within a bound, having finished and committed the batch in
flight, and a restart does nothing a second time.

The ingest worker and the indexer reach the engine through the tests'
bulk-holding proxy (each bulk answered 0.3 s late), so the signal comes
while a batch is half done: outputs out, commit not yet made."""
from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from deploy.demo_site.server import DemoSite
from indexer.engines.detect import open_engine
from ingest.engines.detect import open_client
from ingest.identity import document_id
from ingest.kafka_io import ensure_topics
from ingest.models import Article, FetchedPage
from ingest.settings import Settings
from rasd.bench_runs import drop_run
from tests.corpus import corpus, fetched_pages
from tests.crawlers.support import quick
from tests.crawlers.topics import read_topic
from tests.indexer.support import BulkHoldingProxy, make_article, publish, publish_articles
from tests.stage_processes import Positions, StageProcess, wait_for

pytestmark = pytest.mark.services

# within this a stopped stage must be gone (docker's default grace is 10 s; a
# batch of 20 behind a slow engine may take a few)
STOP_BOUND_S = 30.0
BATCH = 20
HOLD_S = 0.3


@pytest.fixture
def run_settings(stack_settings: Settings, opensearch_url: str) -> Iterator[Settings]:
    s = stack_settings.namespaced(f"term{uuid.uuid4().hex[:8]}").model_copy(update={
        "kafka_bootstrap_servers": f"127.0.0.1:{stack_settings.stack_kafka_port}",
        "search_url": opensearch_url,
        "batch_max_records": BATCH,
    })
    ensure_topics(s)
    yield s
    drop_run(s)


@pytest.fixture
def proxy(opensearch_url: str) -> Iterator[BulkHoldingProxy]:
    held = BulkHoldingProxy(opensearch_url, hold_s=HOLD_S)
    yield held
    held.close()


def _stopped_mid_run(stage: StageProcess, started_work: Callable[[], bool]) -> dict:
    """Start ``stage``, SIGTERM it once ``started_work()`` holds, check it
    exits 0 in time; the stats (or report) it printed."""
    stage.start()
    try:
        assert wait_for(lambda: started_work() or not stage.alive(), 90, "work started", every_s=0.01)
        assert stage.alive(), stage.tail()
        code, seconds = stage.terminate(STOP_BOUND_S)
    finally:
        stage.stop_quietly()
    assert seconds < STOP_BOUND_S
    assert code == 0, stage.tail()
    return stage.stats(stage.runs)


def test_sigterm_stops_the_ingest_worker_with_its_batch_committed_and_a_restart_redoes_nothing(
    run_settings: Settings, proxy: BulkHoldingProxy, tmp_path: Path
):
    pages = fetched_pages(corpus(160, seed=5))
    publish(run_settings, run_settings.topic_pages, ((document_id(p.final_url), p) for p in pages))
    settings = run_settings.model_copy(update={"search_url": proxy.url})
    positions = Positions(settings)
    try:
        # the first articles are out, their batch not yet committed
        first = _stopped_mid_run(StageProcess("ingest", ["ingest"], settings, tmp_path),
                                 lambda: positions.end(settings.topic_articles) > 0)
        committed = positions.committed(settings.ingest_group_id, settings.topic_pages)
    finally:
        positions.close()
    # what it read it finished and committed, and it sent nothing beyond that
    assert 0 < committed == first["pages"] == first["articles"] < len(pages)
    assert len(read_topic(settings, settings.topic_articles, Article)) == committed

    again = StageProcess("ingest-again", ["ingest", "--drain"], settings, tmp_path)
    again.start()
    assert again.wait(120) == 0, again.tail()
    assert again.stats(1)["pages"] == len(pages) - committed
    sent = Counter(article.id for _, article in read_topic(settings, settings.topic_articles, Article))
    assert set(sent) == {document_id(p.final_url) for p in pages}
    assert [doc for doc, n in sent.items() if n > 1] == [], "articles sent twice"


def test_sigterm_stops_the_indexer_with_its_batch_committed_and_a_restart_indexes_nothing_twice(
    run_settings: Settings, proxy: BulkHoldingProxy, opensearch_url: str, tmp_path: Path
):
    articles = [make_article(n) for n in range(160)]
    publish_articles(run_settings, articles)
    settings = run_settings.model_copy(update={"search_url": proxy.url})
    # a bulk applied by the engine, its answer on the way
    first = _stopped_mid_run(StageProcess("index", ["index"], settings, tmp_path), proxy.held.is_set)
    positions = Positions(settings)
    try:
        committed = positions.committed(settings.indexer_group_id, settings.topic_articles)  # type: ignore[arg-type]
    finally:
        positions.close()
    engine = open_engine(opensearch_url)
    try:
        engine.refresh(settings.articles_alias)
        # the held batch was finished and committed: the engine has exactly what was committed
        assert 0 < committed == first["records"] == first["indexed"] == engine.count(settings.articles_alias) < len(articles)
    finally:
        engine.close()

    again = StageProcess("index-again", ["index", "--drain"], run_settings, tmp_path)
    again.start()
    assert again.wait(120) == 0, again.tail()
    assert again.stats(1)["records"] == len(articles) - committed
    client = open_client(opensearch_url, timeout_s=30.0)
    try:
        client.refresh_index(settings.articles_alias)
        hits = client.search_raw(settings.articles_alias, {"size": 1000, "version": True, "_source": False})["hits"]["hits"]
    finally:
        client.close()
    assert sorted(h["_id"] for h in hits) == sorted(a.id for a in articles)
    # every document written once: none of the first run's was written again
    assert {h["_version"] for h in hits} == {1}


def test_sigterm_stops_the_crawler_with_its_pages_on_kafka_and_a_restart_fetches_nothing_twice(
    run_settings: Settings, tmp_path: Path
):
    settings = quick(run_settings, crawl_download_delay_s=0.05)
    with DemoSite(corpus(40, seed=9), faults=False) as site:
        sources = tmp_path / "sources.yaml"
        sources.write_text(f"sources:\n  - name: demo\n    feeds: [{site.feed_url}]\n    sitemaps: [{site.sitemap_url}]\n",
                           encoding="utf-8")
        settings = settings.model_copy(update={"sources_file": sources})
        positions = Positions(settings)
        try:
            report = _stopped_mid_run(StageProcess("crawl", ["crawl"], settings, tmp_path),
                                      lambda: positions.end(settings.topic_pages) >= 5)
        finally:
            positions.close()
        published = read_topic(settings, settings.topic_pages, FetchedPage)
        # every page it fetched reached Kafka before it exited
        assert report["finish_reason"] == "shutdown" and report["publish_errors"] == 0
        assert len(published) == report["pages_published"] < len(site.article_urls())

        wanted = {document_id(u) for u in site.article_urls()}
        again = StageProcess("crawl-again", ["crawl"], settings, tmp_path)
        again.start()
        try:
            wait_for(lambda: {k.decode() for k, _ in read_topic(settings, settings.topic_pages, FetchedPage) if k} >= wanted,
                     120, "every article fetched", every_s=0.5)
            code, _seconds = again.terminate(STOP_BOUND_S)
        finally:
            again.stop_quietly()
        assert code == 0, again.tail()
    keys = Counter(k.decode() for k, _ in read_topic(settings, settings.topic_pages, FetchedPage) if k)
    assert set(keys) == wanted
    assert [doc for doc, n in keys.items() if n > 1] == [], "pages fetched twice"

"""Kill trials (issue 9, surviving faults): the whole pipeline runs as OS
processes (``rasd crawl``, ``rasd ingest``, ``rasd index``) over a corpus of
generated Arabic articles served on 127.0.0.1, while each stage is SIGKILLed
ten times at seeded random moments and restarted at once. The three series
run side by side (each restart waits out the dead member's Kafka session, so
one after the other would take three times as long); every loss is still
attributed to one stage by comparing each stage's input with its output:
pages topic (crawler), articles and dead letters (ingest), index (indexer).

Half the kills of the ingest worker and of the indexer come inside a batch,
between its outputs and its commit (the window a crash replays): the two
reach the engine through the tests' bulk-holding proxy, which answers every
bulk 0.3 s late, so the ingest worker's articles are out while its
extraction-log write (before the commit) waits, and the indexer's documents
are in the engine while it waits for the answer. The other kills come at a
random moment up to 4 s after the restarted process showed progress (its
group's committed offset moved; for the crawler: pages reached Kafka). The
crawler is killed five times in its crawl child (``crawlers.run``) and five
times in the ``rasd crawl`` parent, whose child must then stop by itself.

Dead letters: the ingest worker and the indexer send each batch's outputs
and commit its input offsets in one Kafka transaction, so what a killed
batch sent is aborted and never read: their letters are never duplicated.
The crawler cannot do that for a fetch (a page it fetched but had not yet
recorded as fetched is fetched, and dead-lettered, again), so every letter
about one input carries the same key (``DeadLetter.key``), and its copies
collapse to one letter per input under it.

The ingest worker and the indexer run with ``kafka_instance_id`` (static
group members, a stable transactional id), as production should: a restart
takes its partitions back at once and aborts the dead process's open
transaction. The crawler runs without: a killed parent's orphaned child is
still running when its successor starts.

The seed is fixed; RASD_TEST_KILL_SEED=<n> runs other kill moments.
"""
from __future__ import annotations

import os
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import psutil
import pytest

from deploy.demo_site.server import DemoSite
from ingest.engines.detect import open_client
from ingest.engines.errors import EngineError
from ingest.identity import document_id
from ingest.kafka_io import ensure_topics
from ingest.models import Article, DeadLetter, FetchedPage
from ingest.settings import Settings
from rasd.bench_runs import drop_run
from tests.corpus import corpus
from tests.crawlers.support import quick
from tests.crawlers.topics import read_topic
from tests.indexer.support import BulkHoldingProxy
from tests.stage_processes import Positions, StageProcess, gone, wait_for

pytestmark = pytest.mark.services

SEED = int(os.environ.get("RASD_TEST_KILL_SEED", "20250309"))
ARTICLES = 300
KILLS = 10
BATCH = 20
# Pages a fetch a host at most: the crawl then lasts long enough to be killed ten times.
CRAWL_DELAY_S = 0.12
GONE_PAGES = 3
BLANK_PAGES = 6
# the longest a stage may take to show progress after a restart (its dead
# predecessor's Kafka session, 10 s, runs out first)
PROGRESS_TIMEOUT_S = 40.0
# how late the engine's answer to each bulk of the ingest worker and the indexer comes
BULK_HOLD_S = 0.3
ORPHAN_EXIT_S = 60.0


class DeadEnds:
    """A second small site: a sitemap naming pages that are gone (404: the
    crawler's dead letters) and pages without any text (the ingest worker's)."""

    def __init__(self) -> None:
        site = self
        self.served: set[str] = set()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, body = site.respond(self.path)
                self.send_response(status)
                self.send_header("Content-Type", "application/xml" if self.path.endswith(".xml") else "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def sitemap_url(self) -> str:
        return f"{self.base_url}/sitemap.xml"

    def gone_urls(self) -> list[str]:
        return [f"{self.base_url}/gone/{n}.html" for n in range(GONE_PAGES)]

    def blank_urls(self) -> list[str]:
        return [f"{self.base_url}/blank/{n}.html" for n in range(BLANK_PAGES)]

    def respond(self, path: str) -> tuple[int, bytes]:
        self.served.add(self.base_url + path)
        if path == "/sitemap.xml":
            urls = "".join(f"<url><loc>{u}</loc></url>" for u in self.gone_urls() + self.blank_urls())
            return 200, f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'.encode()
        if path.startswith("/blank/"):
            return 200, ('<!DOCTYPE html><html lang="ar" dir="rtl"><head><meta charset="utf-8"><title>قريبا</title></head>'
                         '<body><nav><a href="/">الرئيسية</a></nav></body></html>').encode()
        return 404, b"<html><body>not found</body></html>"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass
class Kill:
    stage: str
    at_s: float
    target: str  # "process", or for the crawler "parent" / "child"
    moment: str  # "in_batch" (outputs out, no commit yet) or "random"
    returncode: int | None = None
    orphan: psutil.Process | None = None
    # the temporary folder the killed parent made for its crawl child
    orphan_folder: Path | None = None


@dataclass
class Trial:
    settings: Settings
    site: DemoSite
    dead_ends: DeadEnds
    stages: dict[str, StageProcess]
    # the ingest worker's and the indexer's way to the engine
    proxies: dict[str, BulkHoldingProxy]
    kills: list[Kill] = field(default_factory=list)
    final_exit: dict[str, tuple[int, float]] = field(default_factory=dict)
    pages: list[tuple[bytes | None, FetchedPage]] = field(default_factory=list)
    articles: list[tuple[bytes | None, Article]] = field(default_factory=list)
    # every article record, those of aborted batch transactions too
    articles_written: int = 0
    dead_letters: list[tuple[bytes | None, DeadLetter]] = field(default_factory=list)
    # document id -> [_version of each copy under the alias]
    indexed: dict[str, list[int]] = field(default_factory=dict)

    def expected_article_ids(self) -> set[str]:
        return {document_id(u) for u in self.site.article_urls()}


def _progress(stage: str, settings: Settings) -> Callable[[Positions], int]:
    """How far ``stage`` got, from Kafka: pages published (crawler), the
    group's committed input (ingest worker, indexer)."""
    if stage == "crawl":
        return lambda p: p.end(settings.topic_pages)
    if stage == "ingest":
        return lambda p: p.committed(settings.ingest_group_id, settings.topic_pages)
    assert settings.indexer_group_id is not None
    return lambda p: p.committed(settings.indexer_group_id, settings.topic_articles)


def _in_batch(trial: Trial, name: str, positions: Positions) -> Callable[[], bool] | None:
    """A wait for the moment inside one of the restarted process's batches
    when its outputs are out and its input not yet committed (the window a
    crash replays): the ingest worker's first messages acknowledged while the
    proxy holds its extraction-log bulk, which comes before the commit; the
    indexer's bulk applied by the engine while the proxy holds the answer."""
    settings = trial.settings
    if name == "ingest":
        # (not the dead-letter topic: the crawler writes there too)
        before = positions.end(settings.topic_articles)
        return lambda: positions.end(settings.topic_articles) > before
    if name == "index":
        proxy = trial.proxies["index"]
        proxy.held.clear()
        return proxy.held.is_set
    return None


def _kill_series(trial: Trial, name: str, rng: random.Random, errors: list[BaseException]) -> None:
    stage = trial.stages[name]
    positions = Positions(trial.settings)
    progress = _progress(name, trial.settings)
    # the crawler: half the kills hit the crawl child, half the parent
    targets = ["child", "parent"] * (KILLS // 2) if name == "crawl" else ["process"] * KILLS
    moments = ["random"] * KILLS if name == "crawl" else ["in_batch", "random"] * (KILLS // 2)
    rng.shuffle(targets)
    rng.shuffle(moments)
    t0 = time.monotonic()
    try:
        for target, moment in zip(targets, moments):
            if name == "crawl":
                # An orphaned crawl child publishes until it has stopped: the
                # progress that counts is the new crawl's, once it owns hosts.
                assert wait_for(lambda: stage.children("crawlers.run") and any(
                    e["partitions"] for e in stage.events("hosts_assigned", stage.runs)) or not stage.alive(),
                    PROGRESS_TIMEOUT_S, "crawl owns hosts"), f"the crawl never got hosts:\n{stage.tail()}"
            in_batch = _in_batch(trial, name, positions) if moment == "in_batch" else None
            if in_batch is not None:
                wait_for(lambda: in_batch() or not stage.alive(), PROGRESS_TIMEOUT_S, f"{name} inside a batch",
                         every_s=0.005)
            else:
                before = progress(positions)
                wait_for(lambda: progress(positions) > before or not stage.alive(), PROGRESS_TIMEOUT_S, f"{name} progress")
                # the random moment, anywhere in the next seconds
                time.sleep(rng.uniform(0, 4.0))
            assert stage.alive(), f"{name} exited by itself:\n{stage.tail()}"
            kill = Kill(name, round(time.monotonic() - t0, 1), target, moment)
            if target == "child":
                (child,) = stage.children("crawlers.run")
                child.kill()
                # the parent, its child gone without a report, exits 1
                kill.returncode = stage.wait(30)
            elif target == "parent":
                (kill.orphan,) = stage.children("crawlers.run")
                cmdline = kill.orphan.cmdline()
                kill.orphan_folder = Path(cmdline[cmdline.index("--job") + 1]).parent
                kill.returncode = stage.kill()
            else:
                kill.returncode = stage.kill()
            trial.kills.append(kill)
            stage.start()
    except BaseException as exc:  # reported by the fixture
        errors.append(exc)
    finally:
        positions.close()


def _indexed(settings: Settings) -> dict[str, list[int]]:
    """Document id -> the ``_version`` of each copy under the articles alias
    (a document twice, in two indices of the alias, shows up twice)."""
    client = open_client(settings.search_url, timeout_s=30.0)
    found: dict[str, list[int]] = {}
    try:
        client.refresh_index(settings.articles_alias)
        hits = client.search_raw(settings.articles_alias, {"size": 10_000, "version": True, "_source": ["id"],
                                                           "query": {"match_all": {}}})["hits"]["hits"]
    except EngineError as exc:
        if exc.status == 404:  # no alias yet
            return found
        raise
    finally:
        client.close()
    for hit in hits:
        found.setdefault(hit["_source"]["id"], []).append(hit["_version"])
    return found


@pytest.fixture(scope="module")
def trial(stack_settings: Settings, opensearch_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trial]:
    tmp = tmp_path_factory.mktemp("kill-trials")
    settings = quick(
        stack_settings.namespaced(f"kill{uuid.uuid4().hex[:8]}"),
        search_url=opensearch_url,
        kafka_bootstrap_servers=f"127.0.0.1:{stack_settings.stack_kafka_port}",
        batch_max_records=BATCH,
        crawl_download_delay_s=CRAWL_DELAY_S,
        crawl_poll_interval_s=2.0,
    )
    ensure_topics(settings)
    site = DemoSite(corpus(ARTICLES, SEED % 1000), faults=True)
    site.start()
    dead_ends = DeadEnds()
    sources = tmp / "sources.yaml"
    sources.write_text(
        "sources:\n"
        f"  - name: demo\n    feeds: [{site.feed_url}]\n    sitemaps: [{site.sitemap_url}]\n"
        f"  - name: dead-ends\n    sitemaps: [{dead_ends.sitemap_url}]\n",
        encoding="utf-8",
    )
    settings = settings.model_copy(update={"sources_file": sources})
    # every bulk answer a little late: the stores' and the index's writes are
    # applied, the process does not know it yet (and has not committed)
    proxies = {name: BulkHoldingProxy(opensearch_url, hold_s=BULK_HOLD_S) for name in ("ingest", "index")}
    stages = {
        "crawl": StageProcess("crawl", ["crawl"], settings, tmp),
        **{name: StageProcess(name, [name], settings.model_copy(update={"search_url": proxies[name].url,
                                                                        "kafka_instance_id": f"kill-trial-{name}"}), tmp)
           for name in ("ingest", "index")},
    }
    run = Trial(settings, site, dead_ends, stages, proxies)
    try:
        for stage in stages.values():
            stage.start()
        errors: list[BaseException] = []
        killers = [
            threading.Thread(target=_kill_series, args=(run, name, random.Random(f"{SEED}-{name}"), errors), daemon=True)
            for name in stages
        ]
        for killer in killers:
            killer.start()
        for killer in killers:
            killer.join(600)
        assert not errors, f"seed {SEED}: {errors[0]!r}"

        # Then everything drains: the crawler fetched every page of the two
        # sites and stops (flushing what it fetched), the ingest worker reads
        # every page and the indexer every article.
        every_path = {urlsplit(u).path for u in [*site.article_urls(), site.fault_urls()["empty"]]}
        failing = {site.fault_urls()["http_500"], site.fault_urls()["not_html"], *dead_ends.gone_urls()}

        def crawled() -> bool:
            # a failing page's letter comes after Scrapy's own retries
            return (every_path <= set(site.served_at) and set(dead_ends.blank_urls()) <= dead_ends.served
                    and failing <= {letter.url for _, letter in read_topic(settings, settings.topic_dead_letters, DeadLetter)})

        done = wait_for(crawled, 120, "every page fetched", every_s=0.5)
        run.final_exit["crawl"] = stages["crawl"].terminate(60)
        assert done, f"seed {SEED}: pages never fetched: {sorted(every_path - set(site.served_at))[:10]}"
        expected = run.expected_article_ids()
        positions = Positions(settings)
        try:
            drained = wait_for(
                lambda: expected <= set(_indexed(settings))
                and positions.committed(settings.ingest_group_id, settings.topic_pages) == positions.end(settings.topic_pages)
                and positions.committed(settings.indexer_group_id, settings.topic_articles)  # type: ignore[arg-type]
                == positions.end(settings.topic_articles),
                120, "drained", every_s=0.5)
        finally:
            positions.close()
        for name in ("ingest", "index"):
            run.final_exit[name] = stages[name].terminate(60)
        missing = expected - set(_indexed(settings))
        assert drained, f"seed {SEED}: not drained; {len(missing)} of {len(expected)} articles not in the index"
        run.pages = read_topic(settings, settings.topic_pages, FetchedPage)
        run.articles = read_topic(settings, settings.topic_articles, Article)
        run.articles_written = len(read_topic(settings, settings.topic_articles, Article, committed_only=False))
        run.dead_letters = read_topic(settings, settings.topic_dead_letters, DeadLetter)
        run.indexed = _indexed(settings)
        print(_summary(run))  # shown with a failure (or -s)
        yield run
    finally:
        for stage in stages.values():
            stage.stop_quietly()
        for proxy in proxies.values():
            proxy.close()
        site.stop()
        dead_ends.close()
        drop_run(settings)


def _summary(run: Trial) -> str:
    """What the trial did, for the reader of a failure."""
    pages = Counter(key for key, _ in run.pages)
    sent = Counter(article.id for _, article in run.articles)
    letters = Counter(key for key, _ in run.dead_letters)
    kills = ", ".join(f"{k.stage}@{k.at_s}s:{k.target}/{k.moment}" for k in run.kills)
    return (f"kill trials, seed {SEED}: {kills}\n"
            f"  pages on Kafka {len(run.pages)} ({len(pages)} distinct), articles {len(run.articles)} ({len(sent)} distinct),"
            f" dead letters {len(run.dead_letters)} ({len(letters)} keys), documents {len(run.indexed)},"
            f" written more than once {sum(1 for v in run.indexed.values() if v[0] > 1)}")


def _urls(ids: set[str], urls: list[str]) -> list[str]:
    """The URLs among ``urls`` whose document ids are in ``ids`` (for messages)."""
    return sorted(u for u in urls if document_id(u) in ids)


def test_each_stage_was_killed_ten_times_and_restarted(trial: Trial):
    by_stage = Counter(k.stage for k in trial.kills)
    assert by_stage == {"crawl": KILLS, "ingest": KILLS, "index": KILLS}, by_stage
    assert Counter(k.target for k in trial.kills if k.stage == "crawl") == {"child": KILLS // 2, "parent": KILLS // 2}
    assert all(k.returncode == -9 for k in trial.kills if k.target in ("process", "parent"))
    # a dead crawl child: the parent reports the crawl failed
    assert all(k.returncode == 1 for k in trial.kills if k.target == "child")
    assert all(stage.runs == KILLS + 1 for stage in trial.stages.values())


def test_the_kills_landed_inside_batches(trial: Trial):
    # A kill between a batch's outputs and its commit makes the restarted
    # process do that batch again. The ingest worker: articles of batches
    # whose transaction was aborted are on the topic, never read.
    sent = Counter(article.id for _, article in trial.articles)
    assert trial.articles_written > len(trial.articles), "no ingest batch was rolled back and replayed"
    # The indexer: a document written more often than its article was sent.
    assert sum(max(0, versions[0] - sent[doc]) for doc, versions in trial.indexed.items()) > 0, \
        "no indexer batch was replayed"
    assert Counter(k.moment for k in trial.kills if k.stage != "crawl") == {"in_batch": KILLS, "random": KILLS}


def test_every_article_is_searchable_exactly_once(trial: Trial):
    assert [doc for doc, copies in trial.indexed.items() if len(copies) > 1] == [], "documents indexed twice"
    assert set(trial.indexed) == trial.expected_article_ids()


def test_the_crawler_lost_no_page(trial: Trial):
    published = {key.decode() for key, _ in trial.pages if key}
    wanted = [*trial.site.article_urls(), *trial.dead_ends.blank_urls(), trial.site.fault_urls()["empty"]]
    assert _urls({document_id(u) for u in wanted} - published, wanted) == []
    crawl_letters = {letter.url for _, letter in trial.dead_letters if letter.stage == "crawl"}
    faults = trial.site.fault_urls()
    assert {faults["http_500"], faults["not_html"], *trial.dead_ends.gone_urls()} <= crawl_letters


def test_the_ingest_worker_lost_no_page(trial: Trial):
    articles = {key.decode() for key, _ in trial.articles if key}
    ingest_letters = {document_id(letter.url) for _, letter in trial.dead_letters if letter.stage == "ingest" and letter.url}
    pages = {key.decode() for key, _ in trial.pages if key}
    # each page read became an article or a dead letter
    assert pages - articles - ingest_letters == set()
    assert {document_id(u) for u in trial.dead_ends.blank_urls()} <= ingest_letters


def test_the_indexer_lost_no_article(trial: Trial):
    assert {article.id for _, article in trial.articles} - set(trial.indexed) == set()


def test_the_ingest_worker_and_the_indexer_never_sent_a_dead_letter_twice(trial: Trial):
    # (their replayed batches' first letters were aborted with the batch)
    letters = Counter(key for key, letter in trial.dead_letters if letter.stage in ("ingest", "index"))
    assert letters and [key for key, n in letters.items() if n > 1] == []


def test_dead_letters_about_one_input_share_one_key(trial: Trial):
    # every letter is about a page here, and keyed by its stage and URL: the
    # copies a crawler's second fetch made collapse onto one key
    assert [(key, letter) for key, letter in trial.dead_letters if key != f"{letter.stage}:{letter.url}".encode()] == []
    keys = {key for key, _ in trial.dead_letters}
    assert {f"ingest:{u}".encode() for u in trial.dead_ends.blank_urls()} <= keys
    assert {f"crawl:{u}".encode() for u in trial.dead_ends.gone_urls()} <= keys
    # nothing else failed: no page of the corpus became a dead letter
    corpus = set(trial.site.article_urls())
    assert [letter for _, letter in trial.dead_letters if letter.url in corpus] == []


def test_a_killed_crawl_parent_leaves_no_orphan_crawl_and_no_temporary_folder(trial: Trial):
    parents = [k for k in trial.kills if k.target == "parent"]
    for kill in parents:
        orphan = kill.orphan
        assert orphan is not None and kill.orphan_folder is not None
        assert wait_for(lambda: gone(orphan), ORPHAN_EXIT_S, "orphan gone"), f"crawl child {orphan.pid} outlived its parent"
        assert not kill.orphan_folder.exists(), "the crawl's temporary folder (its job's settings) was left behind"


def test_every_stage_stops_on_sigterm_with_exit_0_after_the_trials(trial: Trial):
    assert {name: code for name, (code, _s) in trial.final_exit.items()} == {"crawl": 0, "ingest": 0, "index": 0}
    assert all(seconds < 30 for _code, seconds in trial.final_exit.values()), trial.final_exit

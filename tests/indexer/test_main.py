"""The crash test: ``python -m indexer`` killed with SIGKILL while a batch is
indexed in the engine but not yet committed in Kafka; the restarted indexer
must re-read that batch and leave every article exactly once."""
from __future__ import annotations

import signal
import threading
import time

import pytest

from indexer.engines.base import EngineError
from indexer.worker import group_id, run_indexer
from tests.indexer.support import (
    committed_and_end_offsets,
    fully_committed,
    make_article,
    publish_articles,
    sigkill_indexer_when,
)

pytestmark = pytest.mark.services

N = 25
BATCH = 10


def _count_or_zero(engine, alias) -> int:
    try:
        engine.refresh(alias)
        return engine.count(alias)
    except EngineError as exc:
        if exc.status == 404:  # index not created yet
            return 0
        raise


def test_sigkill_between_indexing_and_commit_then_restart_indexes_every_article_exactly_once(
    engine, engine_url, settings, alias, tmp_path
):
    settings = settings.model_copy(update={"batch_max_records": BATCH})
    articles = [make_article(n) for n in range(N)]
    publish_articles(settings, articles)
    group = group_id(settings, engine)

    # The child talks to the engine through a proxy that holds every bulk
    # response: the engine has the documents, the child has not heard back,
    # so it cannot have committed. That is when it gets killed.
    returncode, proxy = sigkill_indexer_when(
        settings, engine_url, tmp_path / "indexer.log", lambda _proxy: _count_or_zero(engine, alias) > 0
    )
    assert returncode == -signal.SIGKILL
    assert proxy.bulk_requests == 1

    # killed mid-batch: documents of a batch are in the engine, nothing committed
    indexed_before_restart = _count_or_zero(engine, alias)
    assert 0 < indexed_before_restart <= BATCH
    committed, end = committed_and_end_offsets(settings, group)
    assert all(c is None for c in committed.values()), committed
    assert sum(end.values()) == N

    # The killed member keeps its partitions until its session times out
    # (45 s, kafka-python's default), so the restart runs until the group has
    # committed everything rather than until the topic is idle.
    stop = threading.Event()
    result: dict[str, object] = {}

    def restart() -> None:
        try:
            result["stats"] = run_indexer(settings, engine, stop=stop)
        except BaseException as exc:  # surfaced by the assertions below
            result["error"] = exc

    worker = threading.Thread(target=restart, daemon=True)
    worker.start()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and worker.is_alive() and not fully_committed(settings, group):
        time.sleep(0.5)
    stop.set()
    worker.join(timeout=30)
    assert "error" not in result, result.get("error")
    stats = result["stats"]
    # the uncommitted batch was read again: every record processed on restart
    assert stats.records == N and stats.indexed == N and stats.dead_lettered == 0
    engine.refresh(alias)
    assert engine.count(alias) == N
    assert all(engine.get(alias, a.id) is not None for a in articles)
    assert fully_committed(settings, group)

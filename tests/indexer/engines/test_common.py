"""The shared engine logic against both real engines."""
from __future__ import annotations

import socket

import pytest

from indexer.bulk import BulkLimits
from indexer.documents import to_document
from indexer.engines.base import is_retryable_status
from indexer.mapping import ANALYZER_NORM, ANALYZER_STEM, first_index
from ingest.engines.connection import EngineConnection
from tests.indexer.support import T0, make_article

pytestmark = pytest.mark.services


def _doc(n: int, **overrides):
    return to_document(make_article(n, **overrides), T0)


def _dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_retryable_statuses_are_overload_server_errors_and_no_answer():
    assert [is_retryable_status(s) for s in (None, 429, 500, 503)] == [True] * 4
    assert [is_retryable_status(s) for s in (400, 404, 409, 413)] == [False] * 4


def test_ensure_index_creates_the_first_write_index_once_and_is_idempotent(engine, alias):
    first = engine.ensure_index(alias)
    again = engine.ensure_index(alias)
    assert first == again == first_index(alias)
    assert engine.count(alias) == 0
    # the template's analyzers exist on the index under the shared names
    for analyzer in (ANALYZER_STEM, ANALYZER_NORM):
        assert engine.analyze("Hello", analyzer=analyzer, index=alias) == ["hello"]


def test_bulk_index_then_search_count_and_get_find_the_documents(engine, alias):
    engine.ensure_index(alias)
    docs = [
        _doc(1, title="Harbour strike ends", body="Dock workers returned on Monday."),
        _doc(2, title="Drought hits farms", body="Wheat yields fell by a third."),
        _doc(3, title="Election results", body="Turnout was the lowest in decades."),
    ]
    outcome = engine.bulk_index(alias, docs)
    assert [i.ok for i in outcome.items] == [True, True, True]
    assert outcome.rejected == [] and outcome.retryable == []
    engine.refresh(alias)
    assert engine.count(alias) == 3
    assert [h["_id"] for h in engine.search(alias, "wheat")] == [docs[1]["id"]]
    assert [h["_id"] for h in engine.search(alias, "harbour")] == [docs[0]["id"]]
    assert engine.search(alias, "volcano") == []
    stored = engine.get(alias, docs[2]["id"])
    assert stored is not None and stored["title"] == "Election results"
    assert engine.get(alias, "0" * 32) is None


def test_indexing_the_same_id_again_overwrites_instead_of_duplicating(engine, alias):
    engine.ensure_index(alias)
    assert engine.bulk_index(alias, [_doc(7, title="First version")]).rejected == []
    assert engine.bulk_index(alias, [_doc(7, title="Corrected version")]).rejected == []
    engine.refresh(alias)
    assert engine.count(alias) == 1
    assert engine.get(alias, _doc(7)["id"])["title"] == "Corrected version"


def test_mapping_rejection_is_reported_per_document_as_permanent_with_the_engines_reason(engine, alias):
    engine.ensure_index(alias)
    bad = _doc(2)
    bad["fetched_at"] = "not a date"
    outcome = engine.bulk_index(alias, [_doc(1), bad, _doc(3)])
    assert [i.ok for i in outcome.items] == [True, False, True]
    (rejected,) = outcome.rejected
    assert rejected.id == bad["id"] and rejected.status == 400 and not rejected.retryable
    assert "fetched_at" in rejected.reason
    engine.refresh(alias)
    assert engine.count(alias) == 2


def test_malformed_published_at_is_ignored_not_rejected(engine, alias):
    engine.ensure_index(alias)
    doc = _doc(1)
    doc["published_at"] = "yesterday-ish"
    assert engine.bulk_index(alias, [doc]).items[0].ok


def test_unreachable_engine_makes_every_document_retryable(engine, alias):
    dead = type(engine)(EngineConnection(_dead_url(), timeout_s=5.0), {"version": {"number": engine.version}})
    try:
        outcome = dead.bulk_index(alias, [_doc(1), _doc(2)])
    finally:
        dead.close()
    assert len(outcome.retryable) == 2 and outcome.succeeded == []
    assert all(i.status is None and "unreachable" in i.reason for i in outcome.items)


@pytest.mark.parametrize(
    "limits",
    [BulkLimits(max_bytes=2_000), BulkLimits(max_docs=3), BulkLimits(max_docs=2, concurrency=3)],
    ids=["bytes", "count", "count-in-flight"],
)
def test_small_bulk_limits_split_requests_without_losing_or_reordering_documents(engine, alias, limits):
    engine.ensure_index(alias)
    docs = [_doc(n) for n in range(1, 9)]  # each article is ~1 KB
    bad = docs[4] = dict(docs[4], fetched_at="not a date")
    outcome = engine.bulk_index(alias, docs, limits=limits)
    assert [i.id for i in outcome.items] == [d["id"] for d in docs]
    assert [i.id for i in outcome.rejected] == [bad["id"]] and len(outcome.succeeded) == 7
    engine.refresh(alias)
    assert engine.count(alias) == 7


def test_compressed_requests_index_arabic_documents(engine, alias):
    gzipped = type(engine)(
        EngineConnection(engine.url, timeout_s=30.0, http_compress=True), {"version": {"number": engine.version}}
    )
    try:
        gzipped.ensure_index(alias)
        doc = _doc(1, title="الأخبار العاجلة", body="هذا نص عربي طويل. " * 50)
        assert gzipped.bulk_index(alias, [doc]).items[0].ok
        gzipped.refresh(alias)
        assert gzipped.get(alias, doc["id"])["title"] == "الأخبار العاجلة"
    finally:
        gzipped.close()

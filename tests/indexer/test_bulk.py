"""Pure logic of bulk request building: serialization and request bounds."""
from __future__ import annotations

import json
import random

from indexer.bulk import BulkLimits, action_pair, chunk_ranges
from indexer.stall import backoff_delay


def test_action_pair_is_an_index_action_by_id_then_the_document_as_utf8_json():
    doc = {"id": "abc", "title": "الأخبار"}
    action, source, end = action_pair("rasd-articles", doc).split(b"\n")
    assert json.loads(action) == {"index": {"_index": "rasd-articles", "_id": "abc"}}
    assert json.loads(source) == doc and "الأخبار".encode() in source and end == b""


def test_chunks_are_bounded_by_count():
    assert [list(r) for r in chunk_ranges([1] * 7, BulkLimits(max_docs=3))] == [[0, 1, 2], [3, 4, 5], [6]]


def test_chunks_are_bounded_by_bytes_and_an_oversized_item_goes_alone():
    sizes = [400, 400, 300, 2_000, 100]
    assert [list(r) for r in chunk_ranges(sizes, BulkLimits(max_bytes=1_024))] == [[0, 1], [2], [3], [4]]


def test_chunks_cover_every_position_once_in_order():
    rng = random.Random(5)
    sizes = [rng.randint(1, 5_000) for _ in range(1_000)]
    ranges = list(chunk_ranges(sizes, BulkLimits(max_docs=37, max_bytes=20_000)))
    assert [i for r in ranges for i in r] == list(range(1_000))
    assert all(len(r) <= 37 and (len(r) == 1 or sum(sizes[i] for i in r) <= 20_000) for r in ranges)
    assert list(chunk_ranges([], BulkLimits())) == []


def test_backoff_doubles_from_the_initial_delay_and_stays_under_the_cap():
    rng = random.Random(1)
    delays = [backoff_delay(attempt, 0.5, 30.0, rng) for attempt in range(1, 200)]
    assert 0.4 <= delays[0] <= 0.6 and 0.8 <= delays[1] <= 1.2 and 1.6 <= delays[2] <= 2.4
    assert max(delays) <= 30.0 and min(delays[10:]) >= 24.0

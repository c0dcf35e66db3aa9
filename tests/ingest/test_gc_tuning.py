from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from ingest.gc_tuning import YOUNG_THRESHOLD, tune_for_worker


@pytest.fixture
def restored_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_tuning_freezes_what_start_up_left_and_collects_the_young_generation_less_often(restored_gc: None) -> None:
    _young, middle, old = gc.get_threshold()
    tune_for_worker()
    # everything alive at start-up is out of the collector's sight
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (YOUNG_THRESHOLD, middle, old)


def test_cycles_made_after_tuning_are_still_collected(restored_gc: None) -> None:
    tune_for_worker()

    class Node:
        other: object

    collected: list[str] = []

    class Watched(Node):
        def __del__(self) -> None:
            collected.append("gone")

    a, b = Watched(), Node()
    a.other, b.other = b, a
    del a, b
    gc.collect()
    assert collected == ["gone"]

"""The figures of a progress line (pure logic: a given clock)."""
from __future__ import annotations

from ingest.progress import RateMeter, Snapshot


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_rate_share_and_eta_follow_the_last_interval():
    clock = Clock()
    meter = RateMeter("pages", clock=clock)
    clock.now += 2
    first = meter.fields(Snapshot(10, 100, {"errors": 1}))
    assert first == {"pages": 10, "of": 100, "errors": 1, "per_s": 5.0, "elapsed_s": 2.0, "pct": 10.0, "eta_s": 18}
    clock.now += 2
    second = meter.fields(Snapshot(50, 100))
    assert second["per_s"] == 20.0 and second["pct"] == 50.0 and second["eta_s"] == 2


def test_a_pause_falls_back_to_the_average_rate_for_the_eta():
    clock = Clock()
    meter = RateMeter("pages", clock=clock)
    clock.now += 5
    meter.fields(Snapshot(50, 200))
    clock.now += 5
    paused = meter.fields(Snapshot(50, 200))
    assert paused["per_s"] == 0.0 and paused["eta_s"] == 30  # 150 left at 5 pages/s on average


def test_without_a_total_there_is_no_share_nor_eta_and_overshoot_stays_at_100_percent():
    clock = Clock()
    meter = RateMeter("fetched", clock=clock)
    clock.now += 1
    open_ended = meter.fields(Snapshot(3, None, {"queued": 7}))
    assert open_ended == {"fetched": 3, "queued": 7, "per_s": 3.0, "elapsed_s": 1.0}
    clock.now += 1
    over = meter.fields(Snapshot(12, 10))
    assert over["pct"] == 100.0 and over["eta_s"] == 0

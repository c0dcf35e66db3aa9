import pytest

from crawlers.politeness import HostPolicy

HOST = "news.example"


class FakeClock:
    """Monotonic time that only moves when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def policy(clock, *, delay=1.0, concurrency=1, backoff_max_s=3600.0):
    return HostPolicy(lambda host: delay, lambda host: concurrency, backoff_max_s=backoff_max_s, clock=clock)


def test_delay_floor_is_the_larger_of_configured_delay_and_robots_crawl_delay():
    p = policy(FakeClock(), delay=2.0)
    assert p.delay(HOST) == 2.0
    p.set_crawl_delay(HOST, 5.0)
    assert p.delay(HOST) == 5.0
    # a Crawl-delay below the configured delay does not lower the floor
    p.set_crawl_delay(HOST, 0.5)
    assert p.delay(HOST) == 2.0


def test_consecutive_starts_are_spaced_by_the_floor():
    clock = FakeClock()
    p = policy(clock, delay=2.0, concurrency=4)
    assert p.try_start(HOST) == 0.0
    assert p.try_start(HOST) == pytest.approx(2.0)
    clock.advance(1.5)
    assert p.try_start(HOST) == pytest.approx(0.5)
    clock.advance(0.5)
    assert p.try_start(HOST) == 0.0


def test_crawl_delay_spaces_consecutive_starts():
    clock = FakeClock()
    p = policy(clock, delay=0.0, concurrency=4)
    p.set_crawl_delay(HOST, 10.0)
    assert p.try_start(HOST) == 0.0
    clock.advance(9.0)
    assert p.try_start(HOST) == pytest.approx(1.0)


def test_concurrency_limits_requests_in_flight():
    clock = FakeClock()
    p = policy(clock, delay=0.0, concurrency=2)
    assert p.try_start(HOST) == 0.0
    assert p.try_start(HOST) == 0.0
    assert p.try_start(HOST) > 0  # third must wait for a response
    assert p.hosts[HOST].in_flight == 2
    p.finish(HOST, failed=False)
    assert p.try_start(HOST) == 0.0


def test_a_held_host_does_not_delay_other_hosts():
    clock = FakeClock()
    p = policy(clock, delay=1.0)
    p.hold(HOST, 60.0)
    assert p.try_start(HOST) == pytest.approx(60.0)
    assert p.try_start("other.example") == 0.0


def test_a_busy_host_does_not_block_other_hosts():
    p = policy(FakeClock(), delay=0.0, concurrency=1)
    assert p.try_start(HOST) == 0.0
    assert p.try_start(HOST) > 0
    assert p.try_start("other.example") == 0.0


@pytest.mark.parametrize("retry_after", [2.0, 600.0])
def test_retry_after_holds_the_host_for_exactly_that_long(retry_after):
    clock = FakeClock()
    p = policy(clock, delay=1.0)
    for _ in range(2):  # two failures: the next backoff would be 4 s
        p.try_start(HOST)
        clock.advance(p.finish(HOST, failed=True))
    p.try_start(HOST)
    # 2 s is shorter than that backoff, 600 s longer: the server's word wins
    assert p.finish(HOST, failed=True, retry_after_s=retry_after) == retry_after
    clock.advance(retry_after - 0.25)
    assert p.try_start(HOST) == pytest.approx(0.25)
    clock.advance(0.25)
    assert p.try_start(HOST) == 0.0


def test_retry_after_is_capped_by_backoff_max():
    p = policy(FakeClock(), delay=1.0, backoff_max_s=100.0)
    p.try_start(HOST)
    assert p.finish(HOST, failed=True, retry_after_s=10_000.0) == 100.0


def test_consecutive_failures_back_off_exponentially_up_to_the_cap():
    clock = FakeClock()
    p = policy(clock, delay=2.0, backoff_max_s=20.0)
    holds = []
    for _ in range(5):
        p.try_start(HOST)
        holds.append(p.finish(HOST, failed=True))
        clock.advance(holds[-1])
    assert holds == [2.0, 4.0, 8.0, 16.0, 20.0]


def test_backoff_starts_at_one_second_when_there_is_no_delay():
    p = policy(FakeClock(), delay=0.0)
    p.try_start(HOST)
    assert p.finish(HOST, failed=True) == 1.0


def test_a_success_resets_the_error_count():
    clock = FakeClock()
    p = policy(clock, delay=1.0)
    for _ in range(3):
        p.try_start(HOST)
        clock.advance(p.finish(HOST, failed=True))
    assert p.hosts[HOST].consecutive_errors == 3
    p.try_start(HOST)
    assert p.finish(HOST, failed=False) == 0.0
    assert p.hosts[HOST].consecutive_errors == 0
    clock.advance(1.0)
    p.try_start(HOST)
    assert p.finish(HOST, failed=True) == 1.0  # back to the first step


def test_configured_delay_and_concurrency_are_read_on_each_call():
    config = {"delay": 1.0, "concurrency": 1}
    clock = FakeClock()
    p = HostPolicy(lambda h: config["delay"], lambda h: config["concurrency"], clock=clock)
    assert p.try_start(HOST) == 0.0
    assert p.try_start(HOST) == pytest.approx(1.0)
    config["delay"] = 3.0
    assert p.delay(HOST) == 3.0
    assert p.try_start(HOST) == pytest.approx(3.0)
    clock.advance(3.0)
    # one in flight with concurrency 1: must wait; raising the limit lets it start
    assert p.try_start(HOST) > 0
    config["concurrency"] = 2
    assert p.try_start(HOST) == 0.0

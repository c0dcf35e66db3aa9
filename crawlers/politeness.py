"""Per-host politeness, as pure bookkeeping over a clock: how long a request
to a host must wait. The downloader middleware in
``crawlers.middlewares.politeness`` applies it to every request.

Why not Scrapy's download slots and AutoThrottle alone: a slot's delay is
lowered by AutoThrottle and shrunk by the randomized jitter, Scrapy does not
read robots.txt ``Crawl-delay``, and its retries ignore ``Retry-After``. Here
the delay floor is the largest of the configured delay, the source's own
delay and the site's Crawl-delay, and nothing lowers it.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from scrapy.exceptions import IgnoreRequest



class Dropped(IgnoreRequest):
    """A request given up on purpose, not a failure: no dead letter, and in
    a continuous crawl its URL simply stays due."""


class NotOwned(Dropped):
    """The host moved to another crawler process."""


class Stopping(Dropped):
    """The crawl is shutting down; the request waited for its host."""


class Unwanted(Dropped):
    """Its source left the sources file while the request waited."""


@dataclass
class HostState:
    floor_s: float = 0.0
    crawl_delay_s: float | None = None
    concurrency: int = 1
    in_flight: int = 0
    # monotonic time before which no request may start
    not_before: float = 0.0
    consecutive_errors: int = 0
    last_start: float | None = None
    last_finish: float | None = None


class HostPolicy:
    """The politeness state of every host this process fetches from.

    ``delay_for(host)`` and ``concurrency_for(host)`` give the configured
    values (settings and sources, re-read on each call so edits apply);
    Crawl-delay, Retry-After and error backoff are learned as responses
    come in. Memory grows with the number of hosts, not URLs."""

    def __init__(
        self,
        delay_for: Callable[[str], float],
        concurrency_for: Callable[[str], int],
        *,
        backoff_max_s: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._delay_for = delay_for
        self._concurrency_for = concurrency_for
        self.backoff_max_s = backoff_max_s
        self._clock = clock
        self.hosts: dict[str, HostState] = {}

    def state(self, host: str) -> HostState:
        st = self.hosts.get(host)
        if st is None:
            st = self.hosts[host] = HostState()
        st.floor_s = max(self._delay_for(host), st.crawl_delay_s or 0.0)
        st.concurrency = max(1, self._concurrency_for(host))
        return st

    def delay(self, host: str) -> float:
        return self.state(host).floor_s

    def set_crawl_delay(self, host: str, seconds: float | None) -> None:
        self.state(host).crawl_delay_s = seconds

    def hold(self, host: str, seconds: float) -> None:
        """No request to ``host`` for ``seconds`` from now (Retry-After,
        backoff, or a host just taken over from another process)."""
        st = self.state(host)
        st.not_before = max(st.not_before, self._clock() + seconds)

    def try_start(self, host: str) -> float:
        """Start a request now if allowed (returns 0.0 and counts it in
        flight), else return how many seconds to wait before asking again."""
        st = self.state(host)
        now = self._clock()
        wait = max(st.not_before, self._last_activity(st) + st.floor_s) - now
        if wait > 0:
            return wait
        if st.in_flight >= st.concurrency:
            # a response will free a place; poll again soon
            return min(0.05, st.floor_s) or 0.05
        st.in_flight += 1
        st.last_start = now
        return 0.0

    def quiet_in(self, host: str) -> float:
        """Seconds until ``host`` could take a request from anyone without
        undercutting its delay (0 when already so); a request in flight
        counts as one more delay."""
        st = self.hosts.get(host)
        if st is None or st.last_start is None:
            return 0.0
        wait = self._last_activity(st) + st.floor_s - self._clock()
        if st.in_flight:
            wait = max(wait, st.floor_s)
        return max(0.0, wait)

    @staticmethod
    def _last_activity(st: HostState) -> float:
        # The delay runs from the later of the last start and the last
        # finish: then the site sees the gap too, whatever the latency of
        # each request (a slow first answer cannot shorten it).
        if st.floor_s <= 0 or st.last_start is None:
            return float("-inf")
        return max(st.last_start, st.last_finish or st.last_start)

    def finish(self, host: str, *, failed: bool, retry_after_s: float | None = None) -> float:
        """A request ended. ``failed``: overload, server error or no answer.
        Returns the hold put on the host (0.0 when none)."""
        st = self.state(host)
        st.in_flight = max(0, st.in_flight - 1)
        st.last_finish = self._clock()
        if not failed:
            st.consecutive_errors = 0
            return 0.0
        st.consecutive_errors += 1
        backoff = min(self.backoff_max_s, max(st.floor_s, 1.0) * 2 ** (st.consecutive_errors - 1))
        hold = min(self.backoff_max_s, retry_after_s) if retry_after_s is not None else backoff
        self.hold(host, hold)
        return hold

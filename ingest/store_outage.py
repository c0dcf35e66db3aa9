"""How a worker lives with a shared store in the search engine that is away.

The ingest stage keeps three stores in the engine (site boilerplate, story
clusters, the extraction log). None of them may stop ingest: while the
engine is unreachable a worker goes on without the store, says so once per
outage (and again when the store is back), and leaves it alone for a while
so that a dead engine does not cost every batch a connection timeout."""
from __future__ import annotations

import time

import structlog

log = structlog.get_logger(__name__)


class StoreOutage:
    """The outage state of one store, for one worker. Logs
    ``<store>_unavailable`` and ``<store>_back``."""

    def __init__(self, store: str, index: str, effect: str) -> None:
        self.store = store
        self.index = index
        self.effect = effect
        self._down_since: float | None = None
        self._retry_at = 0.0

    @property
    def paused(self) -> bool:
        """True while the store is left alone after a failure."""
        return time.monotonic() < self._retry_at

    def failed(self, exc: Exception, pause_s: float) -> None:
        if self._down_since is None:
            self._down_since = time.monotonic()
            log.warning(f"{self.store}_unavailable", index=self.index, error=str(exc), effect=self.effect)
        self._retry_at = time.monotonic() + pause_s

    def recovered(self) -> None:
        if self._down_since is not None:
            log.info(f"{self.store}_back", index=self.index, down_s=round(time.monotonic() - self._down_since, 1))
            self._down_since = None

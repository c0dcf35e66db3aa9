"""How a worker reaches a shared store in the search engine, and lives
with it being away.

The ingest stage keeps three stores in the engine (site boilerplate, story
clusters, the extraction log). Each connects on first use and sets its
index up once. None of them may stop ingest: while the engine is
unreachable a worker goes on without the store, says so once per outage
(and again when the store is back), and leaves it alone for a while so that
a dead engine does not cost every batch a connection timeout."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Generic, TypeVar

import structlog

from ingest.engines.client import VendorClient
from ingest.engines.detect import open_configured_client
from ingest.settings import Settings

log = structlog.get_logger(__name__)

S = TypeVar("S")


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


class SharedStore(Generic[S]):
    """One worker's way to one store: ``get()`` connects on first use and
    sets the store up with ``open_store`` (once), or gives None while an
    outage pauses it. A client passed in stays the caller's: ``close()``
    closes only a client this object opened."""

    def __init__(
        self,
        settings: Settings,
        outage: StoreOutage,
        open_store: Callable[[VendorClient], S],
        *,
        client: VendorClient | None = None,
        connect: Callable[[Settings], VendorClient] | None = None,
    ) -> None:
        self.settings = settings
        self.outage = outage
        self._open_store = open_store
        self._connect = connect or open_configured_client
        self._client = client
        self._owns_client = client is None
        self._store: S | None = None

    def get(self) -> S | None:
        if self.outage.paused:
            return None
        if self._store is None:
            if self._client is None:
                self._client = self._connect(self.settings)
            self._store = self._open_store(self._client)
        return self._store

    def close(self) -> None:
        if self._client is not None and self._owns_client:
            self._client.close()
        # a use after close connects anew, and that client is ours
        self._client = None
        self._owns_client = True
        self._store = None

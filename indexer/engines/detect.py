"""Pick the indexer's adapter for whatever answers at a URL."""
from __future__ import annotations

from ingest.engines.client import VendorClient
from ingest.engines.connection import EngineConnection
from ingest.engines.detect import connect, open_client, server_info
from ingest.settings import Settings
from indexer.engines.base import SearchEngine

__all__ = ["open_configured_engine", "open_engine", "server_info"]


def engine_class(distribution: str) -> type[VendorClient]:
    if distribution == "opensearch":
        from indexer.engines.opensearch import OpenSearchEngine

        return OpenSearchEngine
    from indexer.engines.elasticsearch import ElasticsearchEngine

    return ElasticsearchEngine


def open_engine(
    url: str,
    username: str | None = None,
    password: str | None = None,
    timeout_s: float = 60.0,
    http_compress: bool = False,
) -> SearchEngine:
    """Connect to the Elasticsearch or OpenSearch server at ``url``."""
    return open_client(  # type: ignore[return-value]
        url, username, password, timeout_s, pick=engine_class, http_compress=http_compress
    )


def open_configured_engine(settings: Settings, url: str | None = None) -> SearchEngine:
    """An engine with the credentials, TLS options, timeout and compression
    from ``settings`` (``url`` overrides ``settings.search_url``)."""
    return connect(EngineConnection.from_settings(settings, url), pick=engine_class)  # type: ignore[return-value]

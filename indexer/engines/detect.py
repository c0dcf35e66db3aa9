"""Pick the indexer's adapter for whatever answers at a URL."""
from __future__ import annotations

from ingest.engines.detect import credentials, server_info
from ingest.settings import Settings
from indexer.engines.base import SearchEngine

__all__ = ["open_configured_engine", "open_engine", "server_info"]


def open_engine(
    url: str,
    username: str | None = None,
    password: str | None = None,
    timeout_s: float = 60.0,
) -> SearchEngine:
    """Connect to the Elasticsearch or OpenSearch server at ``url``."""
    info = server_info(url, username, password, timeout_s=min(timeout_s, 10.0))
    if info["version"].get("distribution") == "opensearch":
        from indexer.engines.opensearch import OpenSearchEngine

        return OpenSearchEngine(url, info, username=username, password=password, timeout_s=timeout_s)
    from indexer.engines.elasticsearch import ElasticsearchEngine

    return ElasticsearchEngine(url, info, username=username, password=password, timeout_s=timeout_s)


def open_configured_engine(settings: Settings, url: str | None = None) -> SearchEngine:
    """``open_engine`` with the credentials and timeout from ``settings``
    (``url`` overrides ``settings.search_url``)."""
    username, password = credentials(settings)
    return open_engine(url or settings.search_url, username, password, timeout_s=settings.search_request_timeout_s)

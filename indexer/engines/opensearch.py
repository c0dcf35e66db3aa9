"""OpenSearch adapter: the shared indexer logic on the OpenSearch client."""
from __future__ import annotations

from ingest.engines.opensearch import OpenSearchClient
from indexer.engines.common import ClientEngine


class OpenSearchEngine(ClientEngine, OpenSearchClient):
    distribution = "opensearch"

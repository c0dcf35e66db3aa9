"""Elasticsearch adapter: the shared indexer logic on the Elasticsearch client."""
from __future__ import annotations

from ingest.engines.elasticsearch import ElasticsearchClient
from indexer.engines.common import ClientEngine


class ElasticsearchEngine(ClientEngine, ElasticsearchClient):
    distribution = "elasticsearch"

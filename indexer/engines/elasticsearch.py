"""Elasticsearch adapter: the shared indexer logic on the Elasticsearch client."""
from __future__ import annotations

from typing import Any

from ingest.engines.elasticsearch import ElasticsearchClient
from indexer.engines.common import ClientEngine


class ElasticsearchEngine(ClientEngine, ElasticsearchClient):
    distribution = "elasticsearch"

    def lifecycle_kind(self) -> str | None:
        """"ilm" when the engine has index lifecycle management (x-pack);
        None on builds without it (they answer 4xx: no handler)."""
        return "ilm" if self._accepts(lambda: self._call(self._client.ilm.get_status)) else None

    def put_lifecycle_policy(self, name: str, body: dict[str, Any]) -> None:
        self._call(self._client.ilm.put_lifecycle, name=name, body=body)

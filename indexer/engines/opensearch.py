"""OpenSearch adapter: the shared indexer logic on the OpenSearch client."""
from __future__ import annotations

from typing import Any

from ingest.engines.errors import EngineError
from ingest.engines.opensearch import OpenSearchClient
from indexer.engines.common import ClientEngine


class OpenSearchEngine(ClientEngine, OpenSearchClient):
    distribution = "opensearch"

    def lifecycle_kind(self) -> str | None:
        """"ism" when the index-management plugin is installed; None when the
        engine answers 4xx (no handler) for its API."""
        probe = self._client.transport.perform_request
        return "ism" if self._accepts(lambda: self._call(probe, method="GET", url="/_plugins/_ism/policies")) else None

    def put_lifecycle_policy(self, name: str, body: dict[str, Any]) -> None:
        # ISM refuses to overwrite a policy without the version it replaces.
        api = self._client.index_management
        try:
            current = self._call(api.get_policy, policy=name)
        except EngineError as exc:
            if exc.status != 404:
                raise
            self._call(api.put_policy, policy=name, body=body)
            return
        params = {"if_seq_no": current["_seq_no"], "if_primary_term": current["_primary_term"]}
        self._call(api.put_policy, policy=name, body=body, params=params)

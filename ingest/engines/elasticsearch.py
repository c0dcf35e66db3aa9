"""Elasticsearch client (official ``elasticsearch`` 9.x)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from elastic_transport import ConnectionError as ESConnectionError
from elastic_transport import ConnectionTimeout, OrjsonSerializer, TransportError
from elasticsearch import ApiError, Elasticsearch

from ingest.engines.client import VendorClient
from ingest.engines.connection import EngineConnection, client_kwargs
from ingest.engines.errors import EngineError, EngineUnavailable, error_reason, error_type, is_retryable_status


def _translate(exc: Exception) -> EngineError:
    if isinstance(exc, ApiError):
        status = exc.meta.status
        body = exc.body if isinstance(exc.body, dict) else {}
        error = body.get("error", exc.message)
        return EngineError(
            f"elasticsearch {status}: {error_reason(error)}",
            status=status,
            retryable=is_retryable_status(status),
            error_type=error_type(error),
        )
    if isinstance(exc, (ESConnectionError, ConnectionTimeout)):
        return EngineUnavailable(f"elasticsearch unreachable: {exc}")
    return EngineError(f"elasticsearch client error: {exc!r}", status=None, retryable=False)


class ElasticsearchClient(VendorClient):
    distribution = "elasticsearch"

    def _make_client(self, connection: EngineConnection) -> Elasticsearch:
        # connections_per_node: the indexer may have several bulks in flight
        return Elasticsearch(
            **client_kwargs(connection, self.distribution), max_retries=0, retry_on_timeout=False,
            connections_per_node=16,
            # orjson for requests and responses (ingest.engines.json_codec)
            serializer=OrjsonSerializer(),
        )

    def _call(self, fn: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            response = fn(**kwargs)
        except (ApiError, TransportError) as exc:
            raise _translate(exc) from exc
        return getattr(response, "body", response)

    def msearch_ndjson(self, index: str, body: bytes) -> dict[str, Any]:
        return self._call(self._client.msearch, index=index, searches=body)

    def bulk_ndjson(self, body: bytes, filter_path: str | None = None, refresh: str | None = None) -> dict[str, Any]:
        if refresh is None:
            return self._call(self._client.bulk, operations=body, filter_path=filter_path)
        return self._call(self._client.bulk, operations=body, filter_path=filter_path, refresh=refresh)

"""OpenSearch client (``opensearch-py`` 3.x)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opensearchpy import OpenSearch
from opensearchpy.exceptions import ConnectionError as OSConnectionError
from opensearchpy.exceptions import TransportError

from ingest.engines.client import VendorClient
from ingest.engines.connection import EngineConnection, client_kwargs
from ingest.engines.json_codec import OpenSearchJson
from ingest.engines.errors import EngineError, EngineUnavailable, error_reason, error_type, is_retryable_status


def _translate(exc: TransportError) -> EngineError:
    # opensearch-py reports "no HTTP answer" as status "N/A".
    if isinstance(exc, OSConnectionError) or not isinstance(exc.status_code, int):
        return EngineUnavailable(f"opensearch unreachable: {exc.error}: {exc.info}")
    info = exc.info if isinstance(exc.info, dict) else {}
    error = info.get("error", exc.error)
    status = exc.status_code
    return EngineError(
        f"opensearch {status}: {error_reason(error)}",
        status=status,
        retryable=is_retryable_status(status),
        error_type=error_type(error),
    )


class OpenSearchClient(VendorClient):
    distribution = "opensearch"

    def _make_client(self, connection: EngineConnection) -> OpenSearch:
        # pool_maxsize: urllib3 keeps one connection per host by default, and
        # the notifier's delivery threads share a client.
        return OpenSearch(
            **client_kwargs(connection, self.distribution), max_retries=0, retry_on_timeout=False, pool_maxsize=16,
            serializer=OpenSearchJson(),
        )

    def _call(self, fn: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return fn(**kwargs)
        except TransportError as exc:
            raise _translate(exc) from exc

    def msearch_ndjson(self, index: str, body: bytes) -> dict[str, Any]:
        return self._call(self._client.msearch, index=index, body=body)

    def bulk_ndjson(self, body: bytes, filter_path: str | None = None, refresh: str | None = None) -> dict[str, Any]:
        if refresh is None:
            return self._call(self._client.bulk, body=body, filter_path=filter_path)
        return self._call(self._client.bulk, body=body, filter_path=filter_path, refresh=refresh)

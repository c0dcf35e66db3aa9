"""Elasticsearch adapter (official ``elasticsearch`` 9.x client)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from elastic_transport import ConnectionError as ESConnectionError
from elastic_transport import ConnectionTimeout, TransportError
from elasticsearch import ApiError, Elasticsearch

from indexer.engines.base import EngineError, EngineUnavailable, is_retryable_status
from indexer.engines.common import ClientEngine, error_reason


def _translate(exc: Exception) -> EngineError:
    if isinstance(exc, ApiError):
        status = exc.meta.status
        body = exc.body if isinstance(exc.body, dict) else {}
        reason = error_reason(body.get("error", exc.message))
        return EngineError(f"elasticsearch {status}: {reason}", status=status, retryable=is_retryable_status(status))
    if isinstance(exc, (ESConnectionError, ConnectionTimeout)):
        return EngineUnavailable(f"elasticsearch unreachable: {exc}")
    return EngineError(f"elasticsearch client error: {exc!r}", status=None, retryable=False)


class ElasticsearchEngine(ClientEngine):
    distribution = "elasticsearch"

    def _make_client(self, url: str, auth: tuple[str, str] | None, timeout_s: float) -> Elasticsearch:
        return Elasticsearch(url, basic_auth=auth, request_timeout=timeout_s, max_retries=0, retry_on_timeout=False)

    def _call(self, fn: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            response = fn(**kwargs)
        except (ApiError, TransportError) as exc:
            raise _translate(exc) from exc
        return getattr(response, "body", response)

    def _bulk(self, operations: list[dict[str, Any]]) -> dict[str, Any]:
        return self._call(self._client.bulk, operations=operations)

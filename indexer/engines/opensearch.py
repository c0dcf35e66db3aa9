"""OpenSearch adapter (``opensearch-py`` 3.x client)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opensearchpy import OpenSearch
from opensearchpy.exceptions import ConnectionError as OSConnectionError
from opensearchpy.exceptions import TransportError

from indexer.engines.base import EngineError, EngineUnavailable, is_retryable_status
from indexer.engines.common import ClientEngine, error_reason


def _translate(exc: TransportError) -> EngineError:
    # opensearch-py reports "no HTTP answer" as status "N/A".
    if isinstance(exc, OSConnectionError) or not isinstance(exc.status_code, int):
        return EngineUnavailable(f"opensearch unreachable: {exc.error}: {exc.info}")
    info = exc.info if isinstance(exc.info, dict) else {}
    reason = error_reason(info.get("error", exc.error))
    status = exc.status_code
    return EngineError(f"opensearch {status}: {reason}", status=status, retryable=is_retryable_status(status))


class OpenSearchEngine(ClientEngine):
    distribution = "opensearch"

    def _make_client(self, url: str, auth: tuple[str, str] | None, timeout_s: float) -> OpenSearch:
        return OpenSearch(hosts=[url], http_auth=auth, timeout=timeout_s, max_retries=0, retry_on_timeout=False)

    def _call(self, fn: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return fn(**kwargs)
        except TransportError as exc:
            raise _translate(exc) from exc

    def _bulk(self, operations: list[dict[str, Any]]) -> dict[str, Any]:
        return self._call(self._client.bulk, body=operations)

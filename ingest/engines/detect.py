"""Which engine answers at a URL, and a client for it."""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import structlog
import urllib3
from pydantic import SecretStr

from ingest.settings import Settings
from ingest.engines.client import VendorClient
from ingest.engines.connection import EngineConnection, probe_pool_kwargs
from ingest.engines.errors import EngineError, EngineUnavailable


def _get(http: urllib3.PoolManager, url: str, path: str, headers: dict[str, str]) -> urllib3.BaseHTTPResponse:
    try:
        return http.request("GET", url.rstrip("/") + path, headers=headers)
    except urllib3.exceptions.HTTPError as exc:
        raise EngineUnavailable(f"no search engine reachable at {url}: {exc}") from exc


def _json(response: urllib3.BaseHTTPResponse) -> Any:
    try:
        return json.loads(response.data)
    except ValueError:
        return None


def server_info(connection: EngineConnection, timeout_s: float = 10.0) -> dict[str, Any]:
    """The engine's ``GET /`` answer (name, cluster, version)."""
    url = connection.url
    headers = {"Accept": "application/json", **connection.auth_headers()}
    http = urllib3.PoolManager(
        timeout=urllib3.Timeout(total=timeout_s), retries=False, **probe_pool_kwargs(connection)
    )
    try:
        response = _get(http, url, "/", headers)
        if response.status in (401, 403):
            raise EngineError(
                f"search engine at {url} refused the credentials (HTTP {response.status}): "
                "set RASD_SEARCH_USERNAME/RASD_SEARCH_PASSWORD or RASD_SEARCH_API_KEY",
                status=response.status,
                retryable=False,
            )
        info = _json(response)
        if response.status == 200 and isinstance(info, dict) and "version" in info:
            return info
        if response.headers.get("X-Elastic-Product") == "Elasticsearch":
            # Builds without the rest-root module (the integ-test-zip
            # distribution) refuse GET /; the nodes API still tells the version.
            nodes = _json(_get(http, url, "/_nodes/_local?filter_path=nodes.*.version", headers))
            versions = [n.get("version") for n in (nodes or {}).get("nodes", {}).values()]
            if versions and versions[0]:
                return {"version": {"number": versions[0], "distribution": "elasticsearch"}}
        if response.status >= 500:
            raise EngineError(
                f"search engine at {url} answered GET / with HTTP {response.status}",
                status=response.status,
                retryable=True,
            )
        raise EngineError(
            f"{url} is not a search engine (GET / gave HTTP {response.status} without a version)",
            status=response.status,
            retryable=False,
        )
    finally:
        http.clear()


log = structlog.get_logger(__name__)
C = TypeVar("C", bound=VendorClient)


def vendor_client_class(distribution: str) -> type[VendorClient]:
    """The plain client class for an engine distribution (imported lazily:
    each pulls in its vendor's library)."""
    if distribution == "opensearch":
        from ingest.engines.opensearch import OpenSearchClient

        return OpenSearchClient
    from ingest.engines.elasticsearch import ElasticsearchClient

    return ElasticsearchClient


def connect(
    connection: EngineConnection,
    *,
    pick: Callable[[str], type[C]] = vendor_client_class,  # type: ignore[assignment]
) -> C:
    """A client for the Elasticsearch or OpenSearch server ``connection``
    names, of the class ``pick`` gives for its distribution (plain REST by
    default; the indexer picks its engine adapters)."""
    if connection.tls and not connection.verify_certs:
        # said when connecting, not by urllib3 on every request
        log.warning("search_tls_unverified", url=connection.url)
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    info = server_info(connection, timeout_s=min(connection.timeout_s, 10.0))
    return pick(str(info["version"].get("distribution") or "elasticsearch"))(connection, info)  # type: ignore[return-value]


def open_client(
    url: str,
    username: str | None = None,
    password: str | None = None,
    timeout_s: float = 60.0,
    *,
    pick: Callable[[str], type[C]] = vendor_client_class,  # type: ignore[assignment]
    http_compress: bool = False,
) -> C:
    """``connect`` to ``url`` with these credentials (plain http or TLS
    verified against the system's CAs; ``open_configured_client`` takes every
    option from the settings)."""
    connection = EngineConnection(
        url,
        username=username,
        password=None if password is None else SecretStr(password),
        timeout_s=timeout_s,
        http_compress=http_compress,
    )
    return connect(connection, pick=pick)


def open_configured_client(settings: Settings, url: str | None = None) -> VendorClient:
    """A client with the credentials, TLS options and timeout from ``settings``."""
    return connect(EngineConnection.from_settings(settings, url))

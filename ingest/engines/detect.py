"""Which engine answers at a URL, and a client for it."""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import urllib3

from ingest.settings import Settings
from ingest.engines.client import VendorClient
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


def server_info(
    url: str, username: str | None = None, password: str | None = None, timeout_s: float = 10.0
) -> dict[str, Any]:
    """The engine's ``GET /`` answer (name, cluster, version)."""
    headers = {"Accept": "application/json"}
    if username:
        headers.update(urllib3.make_headers(basic_auth=f"{username}:{password or ''}"))
    http = urllib3.PoolManager(timeout=urllib3.Timeout(total=timeout_s), retries=False)
    try:
        response = _get(http, url, "/", headers)
        if response.status in (401, 403):
            raise EngineError(
                f"search engine at {url} refused the credentials (HTTP {response.status}): "
                "set RASD_SEARCH_USERNAME/RASD_SEARCH_PASSWORD",
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


def credentials(settings: Settings) -> tuple[str | None, str | None]:
    password = settings.search_password.get_secret_value() if settings.search_password else None
    return settings.search_username, password


C = TypeVar("C", bound=VendorClient)


def vendor_client_class(distribution: str) -> type[VendorClient]:
    """The plain client class for an engine distribution (imported lazily:
    each pulls in its vendor's library)."""
    if distribution == "opensearch":
        from ingest.engines.opensearch import OpenSearchClient

        return OpenSearchClient
    from ingest.engines.elasticsearch import ElasticsearchClient

    return ElasticsearchClient


def open_client(
    url: str,
    username: str | None = None,
    password: str | None = None,
    timeout_s: float = 60.0,
    *,
    pick: Callable[[str], type[C]] = vendor_client_class,  # type: ignore[assignment]
    http_compress: bool = False,
) -> C:
    """A client for the Elasticsearch or OpenSearch server at ``url``, of the
    class ``pick`` gives for its distribution (plain REST by default; the
    indexer picks its engine adapters)."""
    info = server_info(url, username, password, timeout_s=min(timeout_s, 10.0))
    cls = pick(str(info["version"].get("distribution") or "elasticsearch"))
    return cls(url, info, username=username, password=password, timeout_s=timeout_s, http_compress=http_compress)


def open_configured_client(settings: Settings, url: str | None = None) -> VendorClient:
    """``open_client`` with the credentials and timeout from ``settings``."""
    username, password = credentials(settings)
    return open_client(url or settings.search_url, username, password, timeout_s=settings.search_request_timeout_s)

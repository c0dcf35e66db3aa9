"""The REST calls Rasd makes, on top of either vendor's client.

Both vendor clients expose the same REST methods under the same names; a
vendor subclass only says how to build its client, how to call one method
(error translation, response unwrapping) and how its bulk call takes the
operations."""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

from ingest.engines.connection import EngineConnection
from ingest.engines.errors import EngineError, error_reason, is_retryable_status
from ingest.engines.json_codec import ndjson


class VendorClient(ABC):
    distribution: str

    def __init__(self, connection: EngineConnection, info: dict[str, Any]) -> None:
        # without credentials (EngineConnection moved them out): safe to log
        self.url = connection.url
        self.version: str = str(info.get("version", {}).get("number", "unknown"))
        self._client = self._make_client(connection)

    @abstractmethod
    def _make_client(self, connection: EngineConnection) -> Any:
        """The vendor client (``ingest.engines.connection.client_kwargs``), without
        client-level retries: retries are the caller's job (it knows whether
        its work may wait), and client retries would multiply them."""

    @abstractmethod
    def _call(self, fn: Callable[..., Any], **kwargs: Any) -> Any:
        """Call a client method; raise EngineError on failure; return the body."""

    @abstractmethod
    def bulk_ndjson(self, body: bytes, filter_path: str | None = None, refresh: str | None = None) -> dict[str, Any]:
        """``POST _bulk`` with a body already serialized as NDJSON (the caller
        measured its size while serializing: no second encoding)."""

    def bulk_raw(self, operations: list[dict[str, Any]], refresh: str | None = None) -> dict[str, Any]:
        """``POST _bulk`` with action/source lines as dicts."""
        return self.bulk_ndjson(ndjson(operations), refresh=refresh)

    def analyze_raw(self, body: dict[str, Any], index: str | None) -> dict[str, Any]:
        return self._call(self._client.indices.analyze, index=index, body=body)

    def put_index_template(self, name: str, body: dict[str, Any]) -> None:
        self._call(self._client.indices.put_index_template, name=name, body=body)

    def index_template_exists(self, name: str) -> bool:
        return bool(self._call(self._client.indices.exists_index_template, name=name))

    def delete_index_template(self, name: str) -> None:
        self._call(self._client.indices.delete_index_template, name=name)

    def get_alias(self, name: str) -> dict[str, Any]:
        return self._call(self._client.indices.get_alias, name=name)

    def create_index(self, name: str, body: dict[str, Any]) -> None:
        self._call(self._client.indices.create, index=name, body=body)

    def ensure_plain_index(self, name: str, body: dict[str, Any]) -> None:
        """Create ``name`` unless it exists (idempotent, safe against a
        concurrent creator); additive mapping changes reach an existing one."""
        try:
            self.create_index(name, body)
        except EngineError as exc:
            if exc.error_type != "resource_already_exists_exception":
                raise
            if body.get("mappings"):
                self.put_mapping(name, body["mappings"])

    def delete_index(self, name: str) -> None:
        self._call(self._client.indices.delete, index=name)

    def put_mapping(self, index: str, body: dict[str, Any]) -> None:
        self._call(self._client.indices.put_mapping, index=index, body=body)

    def put_index_settings(self, index: str, settings: dict[str, Any]) -> None:
        """Dynamic index settings (``{"refresh_interval": "-1"}``) on an existing index."""
        self._call(self._client.indices.put_settings, index=index, body={"index": settings})

    def get_index_settings(self, index: str) -> dict[str, Any]:
        """The index's own settings (``index.*``, without defaults), keys without the ``index.`` prefix."""
        response = self._call(self._client.indices.get_settings, index=index)
        return dict(response[index]["settings"]["index"])

    def refresh_index(self, index: str) -> None:
        self._call(self._client.indices.refresh, index=index)

    def search_raw(self, index: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._call(self._client.search, index=index, body=body)

    def count_raw(self, index: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        if body is None:
            return self._call(self._client.count, index=index)
        return self._call(self._client.count, index=index, body=body)

    def mget_raw(self, index: str, ids: Sequence[str], source: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """``_mget``: one entry per id, in order (``found`` false for missing);
        ``source``: only these fields of ``_source``."""
        if not ids:
            return []
        if source is None:
            body: dict[str, Any] = {"ids": list(ids)}
        else:
            body = {"docs": [{"_id": id, "_source": list(source)} for id in ids]}
        return list(self._call(self._client.mget, index=index, body=body)["docs"])

    @abstractmethod
    def msearch_ndjson(self, index: str, body: bytes) -> dict[str, Any]:
        """``POST <index>/_msearch`` with header/body lines already serialized."""

    def msearch_raw(self, index: str, bodies: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """One ``_msearch`` round trip: the responses of ``bodies``, in order.
        A search the engine refused raises EngineError (a partial answer
        would read as "no hits")."""
        if not bodies:
            return []
        lines: list[dict[str, Any]] = []
        for body in bodies:
            lines.append({})
            lines.append(body)
        responses = list(self.msearch_ndjson(index, ndjson(lines))["responses"])
        for response in responses:
            error = response.get("error")
            if error is not None:
                kind = error.get("type") if isinstance(error, dict) else None
                status = int(response.get("status") or 500)
                raise EngineError(f"_msearch refused a search: {error_reason(error)}", status=status,
                                  retryable=is_retryable_status(status), error_type=kind)
        return responses

    def index_exists(self, name: str) -> bool:
        return bool(self._call(self._client.indices.exists, index=name))

    def update_aliases(self, actions: list[dict[str, Any]]) -> None:
        """``POST _aliases``: the actions are applied atomically."""
        self._call(self._client.indices.update_aliases, body={"actions": actions})

    def get_raw(self, index: str, id: str) -> dict[str, Any] | None:
        """Realtime ``GET <index>/_doc/<id>`` (sees writes not yet refreshed):
        the response with ``_source``, ``_seq_no`` and ``_primary_term``, or
        None if there is no such document."""
        try:
            found = self._call(self._client.get, index=index, id=id)
        except EngineError as exc:
            if exc.status == 404:
                return None
            raise
        return found if found.get("found") else None

    def index_raw(
        self,
        index: str,
        id: str,
        body: dict[str, Any],
        *,
        op_type: str | None = None,
        if_seq_no: int | None = None,
        if_primary_term: int | None = None,
        refresh: str | None = None,
    ) -> dict[str, Any]:
        """Write one document. ``op_type="create"`` fails with 409 if it
        exists; ``if_seq_no``/``if_primary_term`` make the write conditional
        (409 if someone else wrote it since it was read)."""
        kwargs: dict[str, Any] = {"index": index, "id": id, "body": body}
        for name, value in (
            ("op_type", op_type),
            ("if_seq_no", if_seq_no),
            ("if_primary_term", if_primary_term),
            ("refresh", refresh),
        ):
            if value is not None:
                kwargs[name] = value
        return self._call(self._client.index, **kwargs)

    def delete_doc(self, index: str, id: str, refresh: str | None = None) -> bool:
        """Delete one document; False if it did not exist."""
        kwargs: dict[str, Any] = {"index": index, "id": id}
        if refresh is not None:
            kwargs["refresh"] = refresh
        try:
            self._call(self._client.delete, **kwargs)
        except EngineError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def close(self) -> None:
        self._client.close()

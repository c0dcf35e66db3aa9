"""The REST calls Rasd makes, on top of either vendor's client.

Both vendor clients expose the same REST methods under the same names; a
vendor subclass only says how to build its client, how to call one method
(error translation, response unwrapping) and how its bulk call takes the
operations."""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

from ingest.engines.errors import EngineError
from ingest.engines.json_codec import ndjson


class VendorClient(ABC):
    distribution: str

    def __init__(
        self,
        url: str,
        info: dict[str, Any],
        *,
        username: str | None = None,
        password: str | None = None,
        timeout_s: float = 60.0,
        http_compress: bool = False,
    ) -> None:
        self.url = url
        self.version: str = str(info.get("version", {}).get("number", "unknown"))
        auth = (username, password or "") if username else None
        self._client = self._make_client(url, auth, timeout_s, http_compress)

    @abstractmethod
    def _make_client(self, url: str, auth: tuple[str, str] | None, timeout_s: float, http_compress: bool) -> Any:
        """The vendor client, without client-level retries: retries are the
        caller's job (it knows whether its work may wait), and client retries
        would multiply them. ``http_compress``: gzip request bodies."""

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

    def refresh_index(self, index: str) -> None:
        self._call(self._client.indices.refresh, index=index)

    def search_raw(self, index: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._call(self._client.search, index=index, body=body)

    def count_raw(self, index: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        if body is None:
            return self._call(self._client.count, index=index)
        return self._call(self._client.count, index=index, body=body)

    def mget_raw(self, index: str, ids: Sequence[str]) -> list[dict[str, Any]]:
        """``_mget``: one entry per id, in order (``found`` false for missing)."""
        if not ids:
            return []
        return list(self._call(self._client.mget, index=index, body={"ids": list(ids)})["docs"])

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

"""JSON for the engines' REST bodies, in both directions, with orjson.

The ingest worker's shared stores (site boilerplate, story clusters) send
tens of thousands of small bulk lines a batch and read as many back; the
standard library's encoder and decoder were a tenth of the worker's CPU
beside extraction (`rasd bench-ingest`). orjson writes the same compact
UTF-8 JSON several times faster."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from opensearchpy.exceptions import SerializationError
from opensearchpy.serializer import JSONSerializer

# numpy numbers (similarities, counts) are written as plain numbers;
# non-string keys as strings, as the standard library does.
_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def _fallback(value: Any) -> Any:
    # dates and the odd type orjson leaves out: as opensearch-py would
    return JSONSerializer().default(value)


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=_fallback, option=_OPTIONS)


def ndjson(lines: Iterable[dict[str, Any]]) -> bytes:
    """One JSON document per line, each line ended: a ``_bulk`` body."""
    return b"".join(dumps(line) + b"\n" for line in lines)


class OpenSearchJson(JSONSerializer):
    """opensearch-py's serializer with orjson underneath (same output)."""

    def dumps(self, data: Any) -> str | bytes:
        if isinstance(data, (str, bytes)):
            return data
        return dumps(data)

    def loads(self, s: str | bytes) -> Any:
        try:
            return orjson.loads(s)
        except orjson.JSONDecodeError as exc:
            raise SerializationError(s, exc) from exc

"""The engines' JSON codec writes what the standard library would read back
the same, in compact UTF-8."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal

import numpy as np
import pytest
from opensearchpy.exceptions import SerializationError

from ingest.engines.json_codec import OpenSearchJson, dumps, ndjson


def test_arabic_text_is_written_as_utf8_not_escaped() -> None:
    assert dumps({"t": "رصد"}) == '{"t":"رصد"}'.encode("utf-8")


def test_numpy_numbers_dates_and_decimals_are_written_as_json_values() -> None:
    when = datetime(2026, 11, 29, 10, 30, tzinfo=timezone.utc)
    back = json.loads(dumps({"f": np.float64(0.5), "i": np.int64(3), "d": when, "m": Decimal("1.5")}))
    assert back == {"f": 0.5, "i": 3, "d": "2026-11-29T10:30:00+00:00", "m": 1.5}


def test_a_bulk_body_is_one_document_per_line_each_line_ended() -> None:
    lines = [{"index": {"_index": "a", "_id": "1"}}, {"title": "خبر", "n": 1}]
    body = ndjson(lines)
    assert body.endswith(b"\n")
    assert [json.loads(line) for line in body.splitlines()] == lines


def test_opensearch_serializer_passes_prepared_bodies_through_and_reads_json() -> None:
    codec = OpenSearchJson()
    assert codec.dumps(b'{"a":1}\n') == b'{"a":1}\n'
    assert codec.dumps({"a": [1, 2]}) == b'{"a":[1,2]}'
    assert codec.loads(b'{"hits": {"total": 3}}') == {"hits": {"total": 3}}


def test_a_response_that_is_not_json_is_a_serialization_error() -> None:
    with pytest.raises(SerializationError):
        OpenSearchJson().loads(b"<html>502 Bad Gateway</html>")

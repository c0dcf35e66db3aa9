"""The REST calls on either vendor's client, on the real engines."""
from __future__ import annotations

import uuid

import pytest

from ingest.engines.detect import open_client
from ingest.engines.errors import EngineError


@pytest.fixture(params=["opensearch", "elasticsearch"])
def engine_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue(f"{request.param}_url")


def test_msearch_answers_each_search_in_order_and_a_refused_one_raises(engine_url: str):
    client = open_client(engine_url, timeout_s=30.0)
    index = f"rasd-test-msearch-{uuid.uuid4().hex[:8]}"
    try:
        client.create_index(index, {"settings": {"number_of_shards": 1, "number_of_replicas": 0},
                                    "mappings": {"properties": {"word": {"type": "keyword"}, "note": {"type": "text"}}}})
        client.bulk_raw([op for w in ("a", "b", "b") for op in ({"index": {"_index": index}}, {"word": w})],
                        refresh="true")
        answers = client.msearch_raw(index, [{"query": {"term": {"word": w}}, "size": 10} for w in ("b", "c", "a")])
        assert [len(a["hits"]["hits"]) for a in answers] == [2, 0, 1]
        assert client.msearch_raw(index, []) == []
        # one search of two the engine refuses (a sort on a text field): the
        # call fails instead of that search reading as "no hits"
        with pytest.raises(EngineError) as refused:
            client.msearch_raw(index, [{"query": {"match_all": {}}},
                                       {"query": {"match_all": {}}, "sort": [{"note": "asc"}]}])
        assert refused.value.status == 400 and not refused.value.retryable
        assert "_msearch refused a search" in str(refused.value)
    finally:
        if client.index_exists(index):
            client.delete_index(index)
        client.close()

from ingest.engines.errors import error_reason


def test_the_reason_names_the_cause_when_the_engine_gives_one():
    error = {"type": "mapper_parsing_exception", "reason": "failed to parse",
             "caused_by": {"type": "illegal_argument_exception", "reason": "bad date"}}
    assert error_reason(error) == (
        "mapper_parsing_exception: failed to parse (caused by illegal_argument_exception: bad date)"
    )


def test_a_search_that_failed_on_its_shards_is_explained_by_the_shards_error():
    error = {"type": "search_phase_execution_exception", "reason": "all shards failed",
             "root_cause": [{"type": "query_shard_exception", "reason": "immense term in field source"}]}
    assert error_reason(error) == (
        "search_phase_execution_exception: all shards failed (caused by query_shard_exception: immense term in field source)"
    )


def test_a_plain_error_is_its_text():
    assert error_reason("connection refused") == "connection refused"

import json

import pytest

from ingest.kafka_io import ContractError, decode, encode
from ingest.models import Article, DeadLetter, FetchedPage
from tests.ingest.pages import article_html, fetched_page


def test_fetched_page_round_trips_through_json_with_the_body_compressed():
    page = fetched_page(article_html())
    raw = encode(page)
    assert len(raw) < len(article_html().encode()), "the page travels compressed"
    again = decode(raw, FetchedPage)
    assert again == page
    assert again.body().decode() == article_html()


def test_a_message_with_unknown_fields_breaks_the_contract():
    data = json.loads(encode(fetched_page(article_html())))
    data["surprise"] = 1
    with pytest.raises(ContractError):
        decode(json.dumps(data).encode(), FetchedPage)


def test_a_message_of_another_schema_version_is_refused():
    data = json.loads(encode(fetched_page(article_html())))
    data["schema_version"] = 2
    with pytest.raises(ContractError):
        decode(json.dumps(data).encode(), FetchedPage)


@pytest.mark.parametrize("raw", [None, b"", b"not json", b"{}", "\u0623".encode("utf-16")])
def test_garbage_and_tombstones_are_contract_errors(raw):
    with pytest.raises(ContractError):
        decode(raw, Article)


def test_dead_letter_carries_its_reason_and_input_position():
    dl = DeadLetter(stage="ingest", reason="empty_extraction", detail="0 characters", input_topic="p",
                    input_partition=1, input_offset=42)
    assert decode(encode(dl), DeadLetter).input_offset == 42

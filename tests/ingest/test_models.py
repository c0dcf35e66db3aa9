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


def test_dead_letters_about_the_same_input_share_a_key_whatever_else_differs():
    def letter(**fields) -> DeadLetter:
        return DeadLetter(**{"stage": "ingest", "reason": "empty_extraction", "detail": "0 characters", **fields})

    # a replayed batch: same page, same position, a later time
    first = letter(url="https://news.example/a/1", input_topic="p", input_partition=1, input_offset=42)
    replay = decode(encode(first), DeadLetter).model_copy(update={"occurred_at": first.occurred_at.replace(year=2030)})
    assert replay.key == first.key
    # the same page fetched again lands at another offset: still one input
    assert letter(url="https://news.example/a/1", input_topic="p", input_partition=0, input_offset=7).key == first.key
    # another page, another stage, an unreadable message by its position
    assert letter(url="https://news.example/a/2").key != first.key
    assert letter(url="https://news.example/a/1", stage="index").key != first.key
    unreadable = letter(reason="invalid_message", input_topic="p", input_partition=1, input_offset=42)
    assert unreadable.key == "ingest:p/1/42"
    assert letter(detail="nothing to go by").key is None
